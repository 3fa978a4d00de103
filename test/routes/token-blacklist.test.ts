import t from 'tap'
import { build, Clock, createUser, forge, obtainPair, resetDb } from '../helper.js'
import { activeFor } from '../helpers/db.js'

const clock = new Clock()
const app = await build(t, {}, { clock })
t.beforeEach(() => resetDb(app))

const BLACKLISTED = { detail: 'Token is blacklisted', code: 'token_not_valid' }
const post = (url: string, payload: Record<string, unknown>) => app.inject({ method: 'POST', url, payload })

t.test('POST /api/token/blacklist/: blacklists a refresh token once (contract rows 28-31, D1)', async t => {
  await createUser(app)
  const { refresh } = await obtainPair(app)

  const first = await post('/api/token/blacklist/', { refresh })
  t.equal(first.statusCode, 200)
  t.same(first.json(), {})

  const again = await post('/api/token/blacklist/', { refresh })
  t.equal(again.statusCode, 401)
  t.same(again.json(), BLACKLISTED)
  t.equal(again.headers['www-authenticate'], 'Bearer realm="api"')

  const refreshed = await post('/api/token/refresh/', { refresh })
  t.equal(refreshed.statusCode, 401)
  t.same(refreshed.json(), BLACKLISTED)

  // D1: 401 (simplejwt: 400, and only with BLACKLIST_AFTER_ROTATION) whatever the settings.
  const verified = await post('/api/token/verify/', { token: refresh })
  t.equal(verified.statusCode, 401)
  t.same(verified.json(), BLACKLISTED)
})

t.test('POST /api/token/blacklist/: an access token is the wrong type (row 32)', async t => {
  await createUser(app)
  const { access } = await obtainPair(app)
  const res = await post('/api/token/blacklist/', { refresh: access })
  t.equal(res.statusCode, 401)
  t.same(res.json(), { detail: 'Token has wrong type', code: 'token_not_valid' })
})

t.test('POST /api/token/blacklist/: a refresh token never recorded as outstanding can be blacklisted', async t => {
  await createUser(app)
  // As minted by Django, or before the table existed: nothing in outstanding_tokens.
  const refresh = forge({ token_type: 'refresh', exp: clock.seconds + 86400, iat: clock.seconds, jti: 'a70ba4ff5d2a400880e5422392154690', user_id: 1 })
  t.equal((await post('/api/token/refresh/', { refresh })).statusCode, 200)
  const res = await post('/api/token/blacklist/', { refresh })
  t.equal(res.statusCode, 200)
  t.same((await post('/api/token/refresh/', { refresh })).json(), BLACKLISTED)
})

t.test('POST /api/token/blacklist/: field errors and invalid tokens in simplejwt shapes', async t => {
  t.same((await post('/api/token/blacklist/', {})).json(), { refresh: ['This field is required.'] })
  const garbage = await post('/api/token/blacklist/', { refresh: 'not.a.jwt' })
  t.equal(garbage.statusCode, 401)
  t.same(garbage.json(), { detail: 'Token is invalid or expired', code: 'token_not_valid' })
  const noType = forge({ exp: clock.seconds + 60, iat: clock.seconds, jti: 'x', user_id: 1 })
  t.same((await post('/api/token/blacklist/', { refresh: noType })).json(), { detail: 'Token has no type', code: 'token_not_valid' })
})

t.test('POST /api/token/blacklist: answers without the trailing slash too', async t => {
  await createUser(app)
  const { refresh } = await obtainPair(app)
  t.equal((await post('/api/token/blacklist', { refresh })).statusCode, 200)
})

t.test('logins record one outstanding token each, and the blacklisted one is no longer active', async t => {
  const user = await createUser(app)
  const a = await obtainPair(app)
  await obtainPair(app)
  t.equal((await activeFor(app.simplejwt.db, user.id)).length, 2)
  await post('/api/token/blacklist/', { refresh: a.refresh })
  t.equal((await activeFor(app.simplejwt.db, user.id)).length, 1)
})
