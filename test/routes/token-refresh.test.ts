// POST /api/token/refresh/ (TokenRefreshView): spec simplejwt-wire.md, transcripts.md §B rows 13–20 and §G
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { sql } from 'drizzle-orm'
import { build, Clock, createUser, decodeParts, FIXED_MS, forge, obtainPair, resetDb, testDatabase } from '../helper.js'

const clock = new Clock()
const database = await testDatabase(t)
const app = await build(t, {}, { clock, database })
t.beforeEach(async () => {
  clock.ms = FIXED_MS
  await resetDb(app)
})

const JTI = /^[0-9a-f]{32}$/
const WWW = 'Bearer realm="api"'
const notValid = (detail: string) => ({ detail, code: 'token_not_valid' })
const INVALID = notValid('Token is invalid or expired')
const NO_ACTIVE = { detail: 'No active account found for the given token.', code: 'no_active_account' }
const NO_USER = notValid('Token contained no recognizable user identification')

function refresh (server: FastifyInstance, token: unknown) {
  return server.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh: token } })
}

/** A refresh token's standard claims for `userId`, issued at the clock's time. */
function refreshClaims (userId: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { token_type: 'refresh', exp: clock.seconds + 86400, iat: clock.seconds, jti: '21e4f5c29a7bb80c722edc98db1c203c', user_id: userId, ...extra }
}

t.test('POST /api/token/refresh/: 200 with only a new access token', async t => {
  await createUser(app)
  const pair = await obtainPair(app)
  const res = await refresh(app, pair.refresh)
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json(; charset=utf-8)?$/)
  t.match(res.body, /^\{"access":"[\w.-]+"\}$/)
  t.same(Object.keys(res.json()), ['access'])
})

t.test('POST /api/token/refresh/: the new access token copies the refresh token\'s iat, with exp = now + 300 and a new jti', async t => {
  const user = await createUser(app)
  const pair = await obtainPair(app)
  const issued = clock.seconds
  const old = [decodeParts(pair.refresh).payload.jti, decodeParts(pair.access).payload.jti]
  clock.tick(2)
  const { access } = (await refresh(app, pair.refresh)).json()
  const decoded = decodeParts(access)
  t.equal(Buffer.from(access.split('.')[0], 'base64url').toString(), '{"alg":"HS256","typ":"JWT"}')
  const jti = decoded.payload.jti as string
  t.match(jti, JTI)
  t.notOk(old.includes(jti), 'a new jti')
  t.equal(decoded.payloadText, `{"token_type":"access","exp":${issued + 2 + 300},"iat":${issued},"jti":"${jti}","user_id":${user.id}}`)
  t.equal(access, forge({}, { rawPayload: decoded.payloadText }), 'signed with the key, HS256')

  // An hour later, exp - iat keeps growing: iat is always the refresh token's.
  clock.tick(3600)
  const later = decodeParts((await refresh(app, pair.refresh)).json().access).payload
  t.equal(later.iat, issued)
  t.equal(later.exp, clock.seconds + 300)
})

t.test('POST /api/token/refresh/: every other claim is copied, in the refresh token\'s order (aud, iss, custom)', async t => {
  const server = await build(t, { JWT_AUDIENCE: 'conformance-audience', JWT_ISSUER: 'https://issuer.conformance.test' }, { clock, database })
  const user = await createUser(server)
  const token = forge(refreshClaims(user.id, { aud: 'conformance-audience', iss: 'https://issuer.conformance.test', scope: 'read' }))
  clock.tick(5)
  const res = await refresh(server, token)
  t.equal(res.statusCode, 200)
  const decoded = decodeParts(res.json().access)
  t.equal(decoded.payloadText, `{"token_type":"access","exp":${clock.seconds + 300},"iat":${clock.seconds - 5},"jti":"${decoded.payload.jti}","user_id":${user.id},"aud":"conformance-audience","iss":"https://issuer.conformance.test","scope":"read"}`)
})

t.test('POST /api/token/refresh/: ROTATE_REFRESH_TOKENS answers access then a new refresh token', async t => {
  const server = await build(t, { ROTATE_REFRESH_TOKENS: true }, { clock, database })
  const user = await createUser(server)
  const pair = await obtainPair(server)
  const issued = clock.seconds
  const oldJti = decodeParts(pair.refresh).payload.jti
  clock.tick(2)
  const res = await refresh(server, pair.refresh)
  t.equal(res.statusCode, 200)
  t.match(res.body, /^\{"access":"[\w.-]+","refresh":"[\w.-]+"\}$/, 'key order access, refresh')
  const body = res.json()
  t.same(Object.keys(body), ['access', 'refresh'])

  const access = decodeParts(body.access)
  const next = decodeParts(body.refresh)
  const now = clock.seconds
  t.match(next.payload.jti, JTI)
  t.not(next.payload.jti, oldJti, 'the rotated token has a new jti')
  t.not(next.payload.jti, access.payload.jti)
  t.equal(next.payloadText, `{"token_type":"refresh","exp":${now + 86400},"iat":${now},"jti":"${next.payload.jti}","user_id":${user.id}}`)
  t.equal(access.payloadText, `{"token_type":"access","exp":${now + 300},"iat":${issued},"jti":"${access.payload.jti}","user_id":${user.id}}`)
  t.equal(body.refresh, forge({}, { rawPayload: next.payloadText }))

  // The rotated token refreshes in turn.
  clock.tick(2)
  const again = await refresh(server, body.refresh)
  t.equal(again.statusCode, 200)
  t.equal(decodeParts(again.json().access).payload.iat, now, 'iat of the token it came from')
})

t.test('POST /api/token/refresh/: ROTATE_REFRESH_TOKENS keeps aud and iss last in the rotated token', async t => {
  const server = await build(t, {
    JWT_ALGORITHM: 'HS512',
    ACCESS_TOKEN_LIFETIME: 3,
    REFRESH_TOKEN_LIFETIME: 6,
    ROTATE_REFRESH_TOKENS: true,
    JWT_AUDIENCE: 'conformance-audience',
    JWT_ISSUER: 'https://issuer.conformance.test'
  }, { clock, database })
  const user = await createUser(server)
  const pair = await obtainPair(server)
  clock.tick(1)
  const body = (await refresh(server, pair.refresh)).json()
  const tail = '"aud":"conformance-audience","iss":"https://issuer.conformance.test"}'
  const next = decodeParts(body.refresh)
  t.equal(next.payloadText, `{"token_type":"refresh","exp":${clock.seconds + 6},"iat":${clock.seconds},"jti":"${next.payload.jti}","user_id":${user.id},${tail}`)
  t.equal(Buffer.from(body.refresh.split('.')[0], 'base64url').toString(), '{"alg":"HS512","typ":"JWT"}')
  t.equal(body.access.length, 363)
  t.equal(body.refresh.length, 364)
})

t.test('POST /api/token/refresh/: an access token has the wrong type', async t => {
  await createUser(app)
  const { access } = await obtainPair(app)
  const res = await refresh(app, access)
  t.equal(res.statusCode, 401)
  t.equal(res.body, JSON.stringify(notValid('Token has wrong type')))
  t.equal(res.headers['www-authenticate'], WWW)
})

t.test('POST /api/token/refresh/: garbage and broken tokens are invalid or expired', async t => {
  await createUser(app)
  const { refresh: good } = await obtainPair(app)
  const [h, p, s] = good.split('.')
  const tampered = `${h}.${Buffer.from(decodeParts(good).payloadText.replace('"user_id":1', '"user_id":2')).toString('base64url')}.${s}`
  for (const token of ['not.a.jwt', 'garbage', `${h}.${p}`, `${h}.${p}.`, `${h}.${p}.${s}x`, tampered, good + '.' + s, forge(refreshClaims(1), { key: 'another-key' })]) {
    const res = await refresh(app, token)
    t.equal(res.statusCode, 401, token)
    t.same(res.json(), INVALID)
    t.equal(res.headers['www-authenticate'], WWW)
  }
})

t.test('POST /api/token/refresh/: expired by the clock, at exp exactly', async t => {
  await createUser(app)
  const pair = await obtainPair(app)
  clock.tick(86399)
  t.equal((await refresh(app, pair.refresh)).statusCode, 200, 'one second before exp')
  clock.tick(1)
  const res = await refresh(app, pair.refresh)
  t.equal(res.statusCode, 401)
  t.equal(res.body, JSON.stringify(INVALID))
  t.equal(res.headers['www-authenticate'], WWW)
})

t.test('POST /api/token/refresh/: a forged expired token, and one issued in the future', async t => {
  const user = await createUser(app)
  const expired = forge(refreshClaims(user.id, { exp: clock.seconds - 57, iat: clock.seconds - 57 - 86400 }))
  t.same((await refresh(app, expired)).json(), INVALID)
  const future = forge(refreshClaims(user.id, { iat: clock.seconds + 60 }))
  t.same((await refresh(app, future)).json(), INVALID)
  const notYet = forge(refreshClaims(user.id, { nbf: clock.seconds + 60 }))
  t.same((await refresh(app, notYet)).json(), INVALID)
})

t.test('POST /api/token/refresh/: a well-signed token minted elsewhere (same key) is honoured', async t => {
  const user = await createUser(app)
  const res = await refresh(app, forge(refreshClaims(user.id)))
  t.equal(res.statusCode, 200)
  t.same(Object.keys(res.json()), ['access'])
})

t.test('POST /api/token/refresh/: surrounding whitespace around the token is trimmed', async t => {
  await createUser(app)
  const pair = await obtainPair(app)
  t.equal((await refresh(app, `  ${pair.refresh}\n`)).statusCode, 200)
})

t.test('POST /api/token/refresh/: field errors', async t => {
  const cases: Array<[unknown, Record<string, string[]>]> = [
    [{}, { refresh: ['This field is required.'] }],
    [{ access: 'x' }, { refresh: ['This field is required.'] }],
    [{ refresh: '' }, { refresh: ['This field may not be blank.'] }],
    [{ refresh: '  \t ' }, { refresh: ['This field may not be blank.'] }],
    [{ refresh: null }, { refresh: ['This field may not be null.'] }],
    [{ refresh: {} }, { refresh: ['Not a valid string.'] }],
    [{ refresh: ['a.b.c'] }, { refresh: ['Not a valid string.'] }],
    [{ refresh: true }, { refresh: ['Not a valid string.'] }],
    [{ refresh: 'a\u0000b\u0000c' }, { refresh: ['Null characters are not allowed.'] }]
  ]
  for (const [payload, expected] of cases) {
    const res = await app.inject({ method: 'POST', url: '/api/token/refresh/', payload: payload as Record<string, unknown> })
    t.equal(res.statusCode, 400, JSON.stringify(payload))
    t.equal(res.body, JSON.stringify(expected), JSON.stringify(payload))
    t.equal(res.headers['www-authenticate'], undefined)
  }
})

t.test('POST /api/token/refresh/: a single NUL character is a 400 field error', async t => {
  const res = await refresh(app, 'a.b\u0000.c')
  t.equal(res.statusCode, 400)
  t.equal(res.body, '{"refresh":["Null characters are not allowed."]}')
})

t.test('POST /api/token/refresh/: a token without jti has no id (spec D5: 401, not 500)', async t => {
  const user = await createUser(app)
  const { jti: _jti, ...claims } = refreshClaims(user.id)
  const res = await refresh(app, forge(claims))
  t.equal(res.statusCode, 401)
  t.equal(res.body, JSON.stringify(notValid('Token has no id')))
  t.equal(res.headers['www-authenticate'], WWW)
})

t.test('POST /api/token/refresh/: a token without token_type has no type', async t => {
  const user = await createUser(app)
  const { token_type: _type, ...claims } = refreshClaims(user.id)
  const res = await refresh(app, forge(claims))
  t.equal(res.statusCode, 401)
  t.equal(res.body, JSON.stringify(notValid('Token has no type')))
})

t.test('POST /api/token/refresh/: a token without exp has no \'exp\' claim', async t => {
  const user = await createUser(app)
  const { exp: _exp, ...claims } = refreshClaims(user.id)
  const res = await refresh(app, forge(claims))
  t.equal(res.statusCode, 401)
  t.equal(res.body, JSON.stringify(notValid("Token has no 'exp' claim")))
})

t.test('POST /api/token/refresh/: odd exp values are refused, not a crash (spec D5)', async t => {
  const user = await createUser(app)
  for (const exp of ['"1796074892"', '1e20', 'null', 'true']) {
    const rawPayload = JSON.stringify(refreshClaims(user.id, { exp: 0 })).replace('"exp":0', `"exp":${exp}`)
    const res = await refresh(app, forge({}, { rawPayload }))
    t.equal(res.statusCode, 401, `exp ${exp}`)
    t.same(res.json(), INVALID, `exp ${exp}`)
  }
})

t.test('POST /api/token/refresh/: the refresh token of a deleted user mints nothing (spec D2)', async t => {
  const user = await createUser(app)
  const pair = await obtainPair(app)
  await app.simplejwt.db.execute(sql`delete from simplejwt.users where id = ${user.id}`)
  const res = await refresh(app, pair.refresh)
  t.equal(res.statusCode, 401)
  t.equal(res.body, JSON.stringify(NO_ACTIVE))
  t.equal(res.headers['www-authenticate'], WWW)

  // Transcript row 20: a user id that never existed.
  const never = await refresh(app, forge(refreshClaims(987654321)))
  t.equal(never.statusCode, 401)
  t.same(never.json(), NO_ACTIVE)
})

t.test('POST /api/token/refresh/: the refresh token of an inactive user mints nothing (spec D2)', async t => {
  await createUser(app)
  const pair = await obtainPair(app)
  await app.simplejwt.users.update('spiderman', { isActive: false })
  const res = await refresh(app, pair.refresh)
  t.equal(res.statusCode, 401)
  t.equal(res.body, JSON.stringify(NO_ACTIVE))
  t.equal(res.headers['www-authenticate'], WWW)

  const ghost = await createUser(app, { username: 'ghost', password: 'boo-boo-1234', isActive: false })
  t.same((await refresh(app, forge(refreshClaims(ghost.id)))).json(), NO_ACTIVE)

  // Active again: the same token works again.
  await app.simplejwt.users.update('spiderman', { isActive: true })
  t.equal((await refresh(app, pair.refresh)).statusCode, 200)
})

t.test('POST /api/token/refresh/: user_id must be a plain positive JSON integer (spec D4)', async t => {
  await createUser(app)
  for (const userId of ['"1"', '" 1"', '1.0', '1.5', '1e0', 'true', 'null', '[1]', '{}', '"abc"', '""', '0', '-1', '1180591620717411303424']) {
    const rawPayload = JSON.stringify(refreshClaims(0)).replace('"user_id":0', `"user_id":${userId}`)
    const res = await refresh(app, forge({}, { rawPayload }))
    t.equal(res.statusCode, 401, `user_id ${userId}`)
    t.equal(res.body, JSON.stringify(NO_USER), `user_id ${userId}`)
    t.equal(res.headers['www-authenticate'], WWW)
  }
  const { user_id: _id, ...withoutUser } = refreshClaims(1)
  t.same((await refresh(app, forge(withoutUser))).json(), NO_USER, 'no user_id at all')
  t.equal((await refresh(app, forge(refreshClaims(1)))).statusCode, 200, 'user_id 1 as an integer works')
})

t.test('POST /api/token/refresh/: a token signed with another HMAC algorithm is invalid', async t => {
  const user = await createUser(app)
  for (const alg of ['HS384', 'HS512'] as const) {
    t.same((await refresh(app, forge(refreshClaims(user.id), { alg }))).json(), INVALID, alg)
  }
  const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(refreshClaims(user.id))).toString('base64url')}.`
  t.same((await refresh(app, none)).json(), INVALID, 'alg none')
})
