import t from 'tap'
import { accessClaims, bearer, build, Clock, createUser, forge, obtainPair, resetDb } from '../helper.js'

const clock = new Clock()
const app = await build(t, {}, { clock })
t.beforeEach(() => resetDb(app))

const NOT_VALID = (message: string) => ({
  detail: 'Given token not valid for any token type',
  code: 'token_not_valid',
  messages: [{ token_class: 'AccessToken', token_type: 'access', message }]
})

t.test('GET /api/hello/: the tutorial answer with a valid access token', async t => {
  await createUser(app)
  const { access } = await obtainPair(app)
  const res = await app.inject({ method: 'GET', url: '/api/hello/', headers: bearer(access) })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { msg: 'Hello Peter Parker' })
  t.equal(res.headers['www-authenticate'], undefined)
})

t.test('GET /api/hello/: no header is "not provided", with WWW-Authenticate', async t => {
  const res = await app.inject({ method: 'GET', url: '/api/hello/' })
  t.equal(res.statusCode, 401)
  t.same(res.json(), { detail: 'Authentication credentials were not provided.' })
  t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
})

t.test('GET /api/hello/: an expired token, by moving the clock', async t => {
  await createUser(app)
  const { access } = await obtainPair(app)
  clock.tick(300)
  const res = await app.inject({ method: 'GET', url: '/api/hello/', headers: bearer(access) })
  clock.tick(-300)
  t.equal(res.statusCode, 401)
  t.same(res.json(), NOT_VALID('Token is invalid or expired'))
})

t.test('GET /api/hello/: a refresh token is the wrong type', async t => {
  await createUser(app)
  const { refresh } = await obtainPair(app)
  const res = await app.inject({ method: 'GET', url: '/api/hello/', headers: bearer(refresh) })
  t.same(res.json(), NOT_VALID('Token has wrong type'))
})

t.test('GET /api/hello/: user_id must be a plain positive integer (spec D4)', async t => {
  await createUser(app)
  const base = accessClaims(clock)
  const noUser = { detail: 'Token contained no recognizable user identification', code: 'token_not_valid' }
  for (const userId of ['"1"', '1.0', '1e0', 'true', '[1]', '{}', '0', '-1', '1180591620717411303424']) {
    const rawPayload = JSON.stringify({ ...base, user_id: 0 }).replace('"user_id":0', `"user_id":${userId}`)
    const res = await app.inject({ method: 'GET', url: '/api/hello/', headers: bearer(forge({}, { rawPayload })) })
    t.equal(res.statusCode, 401, `user_id ${userId}`)
    t.same(res.json(), noUser, `user_id ${userId}`)
  }
  const ok = await app.inject({ method: 'GET', url: '/api/hello/', headers: bearer(forge(base)) })
  t.equal(ok.statusCode, 200)
})
