// Custom claims (the tokenClaims option) and stateless authentication (AUTH_STATELESS), issue 9.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { accessClaims, bearer, build, Clock, createUser, decodeParts, FIXED_MS, forge, obtainPair, resetDb, testDatabase } from '../helper.js'
import type { ClaimsUser } from '../../src/domain/tokens.js'

const clock = new Clock()
const database = await testDatabase(t)
const seen: ClaimsUser[] = []
const tokenClaims = (user: ClaimsUser) => {
  seen.push(user)
  return { username: user.username, first_name: user.firstName, last_name: user.lastName, is_staff: user.isStaff, roles: ['hero'] }
}
const app = await build(t, {}, { clock, database, tokenClaims })
const rotatingApp = await build(t, { ROTATE_REFRESH_TOKENS: true, BLACKLIST_AFTER_ROTATION: true, REFRESH_REUSE_DETECTION: true }, { clock, database, tokenClaims })
const statelessApp = await build(t, { AUTH_STATELESS: true }, { clock, database, tokenClaims })
const plainStatelessApp = await build(t, { AUTH_STATELESS: true, AUTH_TOKEN_CLASSES: ['access', 'sliding'] }, { clock, database })
// A hook that tries to overwrite every reserved claim: they are dropped (and a warning logged).
const greedyApp = await build(t, { AUTH_TOKEN_CLASSES: ['sliding'] }, {
  clock,
  database,
  tokenClaims: () => ({ token_type: 'access', exp: 1, iat: 1, jti: 'mine', user_id: 99, aud: 'x', iss: 'x', nbf: 1, sub: 'x', refresh_exp: 1, tenant: 'acme', skipped: undefined })
})

t.beforeEach(async () => {
  clock.ms = FIXED_MS
  seen.length = 0
  await resetDb(app)
  await createUser(app)
})

const hello = (server: FastifyInstance, token: string) => server.inject({ method: 'GET', url: '/api/hello/', headers: bearer(token) })
const EXTRA = { username: 'spiderman', first_name: 'Peter', last_name: 'Parker', is_staff: false, roles: ['hero'] }
const pick = (payload: Record<string, unknown>) => Object.fromEntries(Object.keys(EXTRA).map(k => [k, payload[k]]))

t.test('tokenClaims: the extra claims go into both tokens of a login, after the standard ones', async t => {
  const { refresh, access } = await obtainPair(app)
  t.equal(seen.length, 1)
  t.equal(seen[0].id, 1)
  t.strictSame(Object.keys(seen[0]).sort(), ['email', 'firstName', 'id', 'isStaff', 'isSuperuser', 'lastName', 'username'])
  const r = decodeParts(refresh).payload
  const a = decodeParts(access).payload
  t.strictSame(Object.keys(r), ['token_type', 'exp', 'iat', 'jti', 'user_id', ...Object.keys(EXTRA)])
  t.strictSame(pick(r), EXTRA)
  t.strictSame(pick(a), EXTRA)
  t.equal(a.token_type, 'access')
})

t.test('refresh copies the extra claims to the new access token; rotation keeps them', async t => {
  const { refresh } = await obtainPair(rotatingApp)
  clock.tick(60)
  const res = await rotatingApp.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh } })
  t.equal(res.statusCode, 200)
  t.strictSame(pick(decodeParts(res.json().access).payload), EXTRA)
  t.strictSame(pick(decodeParts(res.json().refresh).payload), EXTRA)
  // The hook runs at login only: refresh copies the claims, as simplejwt does.
  t.equal(seen.length, 1)
})

t.test('sliding tokens carry the extra claims, and keep them through sliding refresh', async t => {
  const res = await app.inject({ method: 'POST', url: '/api/token/sliding/', payload: { username: 'spiderman', password: 'underoos' } })
  const token = res.json().token
  t.strictSame(pick(decodeParts(token).payload), EXTRA)
  clock.tick(10)
  const next = await app.inject({ method: 'POST', url: '/api/token/sliding/refresh/', payload: { token } })
  t.strictSame(pick(decodeParts(next.json().token).payload), EXTRA)
})

t.test('reserved claims are never overwritten: dropped, the login still succeeds', async t => {
  const warnings: unknown[] = []
  const original = greedyApp.log.warn.bind(greedyApp.log)
  greedyApp.log.warn = ((obj: unknown, ...rest: unknown[]) => { warnings.push(obj); return (original as (...a: unknown[]) => void)(obj, ...rest) }) as typeof greedyApp.log.warn
  t.teardown(() => { greedyApp.log.warn = original })

  const { refresh, access } = await obtainPair(greedyApp)
  for (const token of [refresh, access]) {
    const p = decodeParts(token).payload
    t.equal(p.user_id, 1)
    t.not(p.jti, 'mine')
    t.ok((p.exp as number) > clock.seconds)
    t.notOk('aud' in p || 'iss' in p || 'nbf' in p || 'sub' in p || 'refresh_exp' in p || 'skipped' in p)
    t.equal(p.tenant, 'acme')
  }
  t.equal(decodeParts(refresh).payload.token_type, 'refresh')
  t.equal((await hello(app, access)).statusCode, 200)

  const sliding = await greedyApp.inject({ method: 'POST', url: '/api/token/sliding/', payload: { username: 'spiderman', password: 'underoos' } })
  const s = decodeParts(sliding.json().token).payload
  t.equal(s.token_type, 'sliding')
  t.equal(s.refresh_exp, clock.seconds + 86400)
  t.equal((await hello(greedyApp, sliding.json().token)).statusCode, 200)
  t.match(warnings, [{ event: 'reserved_claims_ignored', claims: ['token_type', 'exp', 'iat', 'jti', 'user_id', 'aud', 'iss', 'nbf', 'sub', 'refresh_exp'] }])
})

t.test('AUTH_STATELESS: request.user from the claims alone, no user lookup', async t => {
  const { access } = await obtainPair(app)
  // The user is gone from the database: a stateless app does not notice.
  await app.simplejwt.users.update('spiderman', { isActive: false })
  statelessApp.simplejwt.userCache.clear()
  let lookups = 0
  const get = statelessApp.simplejwt.userCache.get.bind(statelessApp.simplejwt.userCache)
  statelessApp.simplejwt.userCache.get = async (id: number) => { lookups++; return get(id) }
  t.teardown(() => { statelessApp.simplejwt.userCache.get = get })

  const res = await hello(statelessApp, access)
  t.equal(res.statusCode, 200)
  t.strictSame(res.json(), { msg: 'Hello Peter Parker' })
  t.equal(lookups, 0)
  // The stateful app refuses the same token.
  t.strictSame((await hello(app, access)).json(), { detail: 'User is inactive', code: 'user_inactive' })
})

t.test('AUTH_STATELESS without name claims greets the user id; tokens are still fully checked', async t => {
  clock.tick(0)
  const bare = forge(accessClaims(clock, { user_id: 42 }))
  t.strictSame((await hello(plainStatelessApp, bare)).json(), { msg: 'Hello user 42' })
  const named = forge(accessClaims(clock, { user_id: 42, username: 'mj' }))
  t.strictSame((await hello(plainStatelessApp, named)).json(), { msg: 'Hello mj' })
  const noUser = forge(accessClaims(clock, { user_id: undefined }))
  t.strictSame((await hello(plainStatelessApp, noUser)).json(), { detail: 'Token contained no recognizable user identification', code: 'token_not_valid' })
  clock.tick(300)
  const expired = await hello(plainStatelessApp, bare)
  t.equal(expired.statusCode, 401)
  t.equal(expired.json().messages.length, 2)
  // A blacklisted sliding token is refused even without a user lookup.
  clock.ms = FIXED_MS
  const sliding = (await plainStatelessApp.inject({ method: 'POST', url: '/api/token/sliding/', payload: { username: 'spiderman', password: 'underoos' } })).json().token
  t.equal((await hello(plainStatelessApp, sliding)).statusCode, 200)
  await plainStatelessApp.inject({ method: 'POST', url: '/api/token/sliding/blacklist/', payload: { token: sliding } })
  t.equal((await hello(plainStatelessApp, sliding)).json().messages[1].message, 'Token is blacklisted')
})
