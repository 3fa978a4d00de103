import t from 'tap'
import { bearer, build, Clock, createUser, obtainPair, resetDb } from '../helper.js'
import { activeFor } from '../helpers/db.js'

// Real time: the cut-off is compared with tokens' iat, and a login right after must still work.
const clock = new Clock(Date.now())
const app = await build(t, { ROTATE_REFRESH_TOKENS: true, BLACKLIST_AFTER_ROTATION: true }, { clock })
t.beforeEach(() => resetDb(app))

const BLACKLISTED = { detail: 'Token is blacklisted', code: 'token_not_valid' }
const HELLO_REVOKED = {
  detail: 'Given token not valid for any token type',
  code: 'token_not_valid',
  messages: [{ token_class: 'AccessToken', token_type: 'access', message: 'Token is blacklisted' }]
}
const hello = (access: string) => app.inject({ method: 'GET', url: '/api/hello/', headers: bearer(access) })
const post = (url: string, payload: Record<string, unknown>) => app.inject({ method: 'POST', url, payload })

t.test('POST /api/token/revoke-all/: logs out everywhere', async t => {
  const user = await createUser(app)
  const laptop = await obtainPair(app)
  const phone = await obtainPair(app)
  clock.tick(1)

  const res = await app.inject({ method: 'POST', url: '/api/token/revoke-all/', headers: bearer(laptop.access) })
  t.equal(res.statusCode, 200)
  t.same(res.json(), {})

  for (const pair of [laptop, phone]) {
    const greeted = await hello(pair.access)
    t.equal(greeted.statusCode, 401)
    t.same(greeted.json(), HELLO_REVOKED)
    t.same((await post('/api/token/refresh/', { refresh: pair.refresh })).json(), BLACKLISTED)
    t.same((await post('/api/token/verify/', { token: pair.access })).json(), BLACKLISTED)
    t.same((await post('/api/token/verify/', { token: pair.refresh })).json(), BLACKLISTED)
  }
  t.same(await activeFor(app.simplejwt.db, user.id), [], 'every outstanding refresh token is blacklisted')

  // A login in the same second as the revocation is refused with it (it may have been minted before
  // the revocation); a second later, a login works.
  const sameSecond = await obtainPair(app)
  t.same((await hello(sameSecond.access)).json(), HELLO_REVOKED)
  t.same((await post('/api/token/refresh/', { refresh: sameSecond.refresh })).json(), BLACKLISTED)
  clock.tick(1)
  const fresh = await obtainPair(app)
  t.same((await hello(fresh.access)).json(), { msg: 'Hello Peter Parker' })
  t.equal((await post('/api/token/refresh/', { refresh: fresh.refresh })).statusCode, 200)
  t.equal((await post('/api/token/verify/', { token: fresh.access })).statusCode, 200)
})

t.test('POST /api/token/revoke-all/: the revoking access token itself stops working', async t => {
  await createUser(app)
  const pair = await obtainPair(app)
  clock.tick(1)
  await app.inject({ method: 'POST', url: '/api/token/revoke-all', headers: bearer(pair.access) })
  const again = await app.inject({ method: 'POST', url: '/api/token/revoke-all/', headers: bearer(pair.access) })
  t.equal(again.statusCode, 401)
  t.same(again.json(), HELLO_REVOKED)
})

t.test('POST /api/token/revoke-all/: needs an access token', async t => {
  const none = await app.inject({ method: 'POST', url: '/api/token/revoke-all/' })
  t.equal(none.statusCode, 401)
  t.same(none.json(), { detail: 'Authentication credentials were not provided.' })
  t.equal(none.headers['www-authenticate'], 'Bearer realm="api"')
  await createUser(app)
  const { refresh } = await obtainPair(app)
  const wrongType = await app.inject({ method: 'POST', url: '/api/token/revoke-all/', headers: bearer(refresh) })
  t.equal(wrongType.statusCode, 401)
  t.equal(wrongType.json().messages[0].message, 'Token has wrong type')
})

t.test('POST /api/token/revoke-all/: other users keep their tokens', async t => {
  await createUser(app)
  await createUser(app, { username: 'mj', password: 'tiger-lily', firstName: 'Mary Jane', lastName: 'Watson' })
  const peter = await obtainPair(app)
  const mj = await obtainPair(app, 'mj', 'tiger-lily')
  clock.tick(1)
  await app.inject({ method: 'POST', url: '/api/token/revoke-all/', headers: bearer(peter.access) })
  t.same((await hello(mj.access)).json(), { msg: 'Hello Mary Jane Watson' })
  t.equal((await post('/api/token/refresh/', { refresh: mj.refresh })).statusCode, 200)
})

t.test('GET /docs/json: revoke-all is documented with bearer security', async t => {
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
  const op = doc.paths['/api/token/revoke-all/'].post
  t.equal(op.operationId, 'revokeAllTokens')
  t.same(op.security, [{ bearerAuth: [] }])
  t.ok(op.responses['200'])
  t.ok(op.responses['401'])
})
