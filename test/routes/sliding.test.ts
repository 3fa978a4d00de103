// Sliding tokens (issue 9): obtain, refresh, AUTH_TOKEN_CLASSES at protected routes, blacklisting.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { bearer, build, Clock, createUser, decodeParts, FIXED_MS, forge, obtainPair, resetDb, testDatabase } from '../helper.js'
import { activeFor } from '../helpers/db.js'

const clock = new Clock()
const database = await testDatabase(t)
// The default app (AUTH_TOKEN_CLASSES=access) and apps accepting sliding tokens, on one database.
const app = await build(t, {}, { clock, database })
const slidingApp = await build(t, { AUTH_TOKEN_CLASSES: ['sliding'] }, { clock, database })
const bothApp = await build(t, { AUTH_TOKEN_CLASSES: ['access', 'sliding'] }, { clock, database })
const customApp = await build(t, { AUTH_TOKEN_CLASSES: ['sliding'], SLIDING_TOKEN_LIFETIME: 60, SLIDING_TOKEN_REFRESH_LIFETIME: 600 }, { clock, database })

t.beforeEach(async () => {
  clock.ms = FIXED_MS
  await resetDb(app)
  await createUser(app)
})

async function obtainSliding (server: FastifyInstance = slidingApp): Promise<string> {
  const res = await server.inject({ method: 'POST', url: '/api/token/sliding/', payload: { username: 'spiderman', password: 'underoos' } })
  if (res.statusCode !== 200) throw new Error(`obtainSliding: ${res.statusCode} ${res.body}`)
  return res.json().token
}

const refreshSliding = (server: FastifyInstance, token: unknown) =>
  server.inject({ method: 'POST', url: '/api/token/sliding/refresh/', payload: { token } })
const hello = (server: FastifyInstance, token: string) =>
  server.inject({ method: 'GET', url: '/api/hello/', headers: bearer(token) })

const ACCESS_MSG = (message: string) => ({ token_class: 'AccessToken', token_type: 'access', message })
const SLIDING_MSG = (message: string) => ({ token_class: 'SlidingToken', token_type: 'sliding', message })
const notValid = (...messages: unknown[]) => ({ detail: 'Given token not valid for any token type', code: 'token_not_valid', messages })

t.test('POST /api/token/sliding/ answers {"token"} with simplejwt\'s sliding claims, in its order', async t => {
  const res = await slidingApp.inject({ method: 'POST', url: '/api/token/sliding', payload: { username: 'spiderman', password: 'underoos' } })
  t.equal(res.statusCode, 200)
  t.strictSame(Object.keys(res.json()), ['token'])
  const { payload } = decodeParts(res.json().token)
  t.strictSame(Object.keys(payload), ['token_type', 'exp', 'iat', 'jti', 'refresh_exp', 'user_id'])
  t.equal(payload.token_type, 'sliding')
  t.equal(payload.iat, clock.seconds)
  t.equal(payload.exp, clock.seconds + 300)
  t.equal(payload.refresh_exp, clock.seconds + 86400)
  t.equal(payload.user_id, 1)
  t.match(payload.jti, /^[0-9a-f]{32}$/)

  const custom = decodeParts(await obtainSliding(customApp)).payload
  t.equal(custom.exp, clock.seconds + 60)
  t.equal(custom.refresh_exp, clock.seconds + 600)
})

t.test('sliding login: the same 401 for wrong credentials, 400 for a missing field', async t => {
  const wrong = await slidingApp.inject({ method: 'POST', url: '/api/token/sliding/', payload: { username: 'spiderman', password: 'nope' } })
  t.equal(wrong.statusCode, 401)
  t.strictSame(wrong.json(), { detail: 'No active account found with the given credentials' })
  const missing = await slidingApp.inject({ method: 'POST', url: '/api/token/sliding/', payload: { username: 'spiderman' } })
  t.equal(missing.statusCode, 400)
  t.strictSame(missing.json(), { password: ['This field is required.'] })
  await app.simplejwt.users.update('spiderman', { isActive: false })
  const inactive = await slidingApp.inject({ method: 'POST', url: '/api/token/sliding/', payload: { username: 'spiderman', password: 'underoos' } })
  t.equal(inactive.statusCode, 401)
})

t.test('sliding refresh: new exp and iat, same jti and refresh_exp; past refresh_exp is refused', async t => {
  const token = await obtainSliding()
  const first = decodeParts(token).payload
  clock.tick(299)
  const res = await refreshSliding(slidingApp, token)
  t.equal(res.statusCode, 200)
  t.strictSame(Object.keys(res.json()), ['token'])
  const next = decodeParts(res.json().token).payload
  t.strictSame(Object.keys(next), Object.keys(first))
  t.equal(next.jti, first.jti)
  t.equal(next.refresh_exp, first.refresh_exp)
  t.equal(next.iat, clock.seconds)
  t.equal(next.exp, clock.seconds + 300)

  // The old token expires on its own exp; the refreshed one keeps sliding.
  clock.tick(1)
  t.equal((await hello(slidingApp, token)).statusCode, 401)
  t.equal((await hello(slidingApp, res.json().token)).statusCode, 200)

  // Keep refreshing until refresh_exp: then "Token 'refresh_exp' claim has expired".
  let current = res.json().token as string
  while (clock.seconds + 250 < (first.refresh_exp as number)) {
    clock.tick(250)
    const r = await refreshSliding(slidingApp, current)
    t.equal(r.statusCode, 200)
    current = r.json().token
  }
  clock.ms = (first.refresh_exp as number) * 1000
  const late = await refreshSliding(slidingApp, current)
  t.equal(late.statusCode, 401)
  t.strictSame(late.json(), { detail: "Token 'refresh_exp' claim has expired", code: 'token_not_valid' })
  // Still valid at protected routes until its own exp.
  t.equal((await hello(slidingApp, current)).statusCode, 200)
})

t.test('sliding refresh refuses expired, non-sliding and refresh_exp-less tokens', async t => {
  const token = await obtainSliding()
  clock.tick(300)
  t.strictSame((await refreshSliding(slidingApp, token)).json(), { detail: 'Token is invalid or expired', code: 'token_not_valid' })
  clock.ms = FIXED_MS
  const { access, refresh } = await obtainPair(app)
  for (const other of [access, refresh]) {
    const res = await refreshSliding(slidingApp, other)
    t.equal(res.statusCode, 401)
    t.strictSame(res.json(), { detail: 'Token has wrong type', code: 'token_not_valid' })
  }
  const noRefreshExp = forge({ token_type: 'sliding', exp: clock.seconds + 300, iat: clock.seconds, jti: 'a'.repeat(32), user_id: 1 })
  t.strictSame((await refreshSliding(slidingApp, noRefreshExp)).json(), { detail: "Token has no 'refresh_exp' claim", code: 'token_not_valid' })
  const missing = await refreshSliding(slidingApp, undefined)
  t.equal(missing.statusCode, 400)
  t.strictSame(missing.json(), { token: ['This field is required.'] })
})

t.test('AUTH_TOKEN_CLASSES decides which tokens protected routes accept, with one message per class', async t => {
  const sliding = await obtainSliding()
  const { access } = await obtainPair(app)

  // Default: access only.
  t.equal((await hello(app, access)).statusCode, 200)
  const refused = await hello(app, sliding)
  t.equal(refused.statusCode, 401)
  t.strictSame(refused.json(), notValid(ACCESS_MSG('Token has wrong type')))

  // Sliding only.
  const ok = await hello(slidingApp, sliding)
  t.equal(ok.statusCode, 200)
  t.strictSame(ok.json(), { msg: 'Hello Peter Parker' })
  t.strictSame((await hello(slidingApp, access)).json(), notValid(SLIDING_MSG('Token has wrong type')))

  // Both, in order.
  t.equal((await hello(bothApp, access)).statusCode, 200)
  t.equal((await hello(bothApp, sliding)).statusCode, 200)
  clock.tick(300)
  t.strictSame((await hello(bothApp, sliding)).json(), notValid(ACCESS_MSG('Token is invalid or expired'), SLIDING_MSG('Token is invalid or expired')))
})

t.test('blacklisting a sliding token: refused at protected routes, sliding refresh and verify, with every refreshed copy', async t => {
  const token = await obtainSliding()
  clock.tick(10)
  const refreshed = (await refreshSliding(slidingApp, token)).json().token as string
  const res = await slidingApp.inject({ method: 'POST', url: '/api/token/sliding/blacklist/', payload: { token } })
  t.equal(res.statusCode, 200)
  t.strictSame(res.json(), {})
  for (const presented of [token, refreshed]) {
    t.strictSame((await hello(bothApp, presented)).json(), notValid(ACCESS_MSG('Token has wrong type'), SLIDING_MSG('Token is blacklisted')))
    t.strictSame((await refreshSliding(slidingApp, presented)).json(), { detail: 'Token is blacklisted', code: 'token_not_valid' })
    t.equal((await slidingApp.inject({ method: 'POST', url: '/api/token/verify/', payload: { token: presented } })).statusCode, 401)
  }
  const again = await slidingApp.inject({ method: 'POST', url: '/api/token/sliding/blacklist/', payload: { token: refreshed } })
  t.strictSame(again.json(), { detail: 'Token is blacklisted', code: 'token_not_valid' })
  // The refresh-token blacklist view keeps simplejwt's contract: refresh tokens only.
  const wrongView = await slidingApp.inject({ method: 'POST', url: '/api/token/blacklist/', payload: { refresh: await obtainSliding() } })
  t.strictSame(wrongView.json(), { detail: 'Token has wrong type', code: 'token_not_valid' })
})

t.test('revoke-all and deactivation end sliding tokens too', async t => {
  const token = await obtainSliding()
  const { access } = await obtainPair(app)
  clock.tick(1)
  t.equal((await app.inject({ method: 'POST', url: '/api/token/revoke-all/', headers: bearer(access) })).statusCode, 200)
  t.strictSame((await hello(slidingApp, token)).json(), notValid(SLIDING_MSG('Token is blacklisted')))
  t.equal((await refreshSliding(slidingApp, token)).statusCode, 401)

  clock.tick(1)
  const fresh = await obtainSliding()
  await app.simplejwt.users.update('spiderman', { isActive: false })
  slidingApp.simplejwt.userCache.clear()
  t.strictSame((await refreshSliding(slidingApp, fresh)).json(), { detail: 'No active account found for the given token.', code: 'no_active_account' })
})

t.test('sliding tokens are recorded as outstanding until their last possible expiry', async t => {
  const token = await obtainSliding()
  const { payload } = decodeParts(token)
  t.same(await activeFor(app.simplejwt.db, 1), [payload.jti])
})
