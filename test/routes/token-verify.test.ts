// POST /api/token/verify/ (TokenVerifyView): spec simplejwt-wire.md, transcripts.md §C rows 21–27
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { accessClaims, build, Clock, createUser, decodeParts, FIXED_MS, forge, obtainPair, resetDb } from '../helper.js'

const clock = new Clock()
const app = await build(t, {}, { clock })
t.beforeEach(async () => {
  clock.ms = FIXED_MS
  await resetDb(app)
})

const WWW = 'Bearer realm="api"'
const notValid = (detail: string) => JSON.stringify({ detail, code: 'token_not_valid' })
const INVALID = notValid('Token is invalid or expired')

function verify (server: FastifyInstance, token: unknown) {
  return server.inject({ method: 'POST', url: '/api/token/verify/', payload: { token } })
}

const b64 = (text: string) => Buffer.from(text).toString('base64url')

t.test('POST /api/token/verify/: a valid access token and a valid refresh token both answer 200 {}', async t => {
  await createUser(app)
  const pair = await obtainPair(app)
  for (const token of [pair.access, pair.refresh]) {
    const res = await verify(app, token)
    t.equal(res.statusCode, 200)
    t.equal(res.body, '{}')
    t.match(res.headers['content-type'], /^application\/json(; charset=utf-8)?$/)
    t.equal(res.headers['www-authenticate'], undefined)
  }
})

t.test('POST /api/token/verify/: neither token_type nor the user is looked at', async t => {
  // No users at all: verify checks signature, exp and jti only.
  const { token_type: _type, ...untyped } = accessClaims(clock)
  for (const claims of [accessClaims(clock), accessClaims(clock, { user_id: 987654321 }), accessClaims(clock, { token_type: 'other' }), untyped]) {
    const res = await verify(app, forge(claims))
    t.equal(res.statusCode, 200, JSON.stringify(claims))
    t.equal(res.body, '{}')
  }
})

t.test('POST /api/token/verify/: a tampered payload (user_id changed, signature kept) is invalid', async t => {
  await createUser(app)
  const { access } = await obtainPair(app)
  const [h, , s] = access.split('.')
  const tampered = `${h}.${b64(decodeParts(access).payloadText.replace('"user_id":1', '"user_id":2'))}.${s}`
  const res = await verify(app, tampered)
  t.equal(res.statusCode, 401)
  t.equal(res.body, INVALID)
  t.equal(res.headers['www-authenticate'], WWW)
})

t.test('POST /api/token/verify/: a tampered signature or header is invalid', async t => {
  await createUser(app)
  const { access } = await obtainPair(app)
  const [h, p, s] = access.split('.')
  const flipped = s.slice(0, -2) + (s.at(-2) === 'A' ? 'B' : 'A') + s.at(-1)
  const otherHeader = b64('{"typ":"JWT","alg":"HS256"}')
  for (const token of [`${h}.${p}.${flipped}`, `${otherHeader}.${p}.${s}`, `${h}.${p}.${s}${s}`, `${h}.${p}`, `${h}.${p}.${s}.${s}`]) {
    const res = await verify(app, token)
    t.equal(res.statusCode, 401, token)
    t.equal(res.body, INVALID)
  }
})

t.test('POST /api/token/verify/: expired by the clock, at exp exactly', async t => {
  await createUser(app)
  const { access, refresh } = await obtainPair(app)
  clock.tick(299)
  t.equal((await verify(app, access)).statusCode, 200, 'one second before exp')
  clock.tick(1)
  const res = await verify(app, access)
  t.equal(res.statusCode, 401)
  t.equal(res.body, INVALID)
  t.equal(res.headers['www-authenticate'], WWW)
  t.equal((await verify(app, refresh)).statusCode, 200, 'the refresh token lives on')
  clock.tick(86400 - 300)
  t.equal((await verify(app, refresh)).body, INVALID, 'until its own exp')
})

t.test('POST /api/token/verify/: a forged expired token (row 24), and iat or nbf in the future', async t => {
  const cases = [
    accessClaims(clock, { exp: clock.seconds - 57, iat: clock.seconds - 357 }),
    accessClaims(clock, { iat: clock.seconds + 1 }),
    accessClaims(clock, { nbf: clock.seconds + 1 })
  ]
  for (const claims of cases) {
    const res = await verify(app, forge(claims))
    t.equal(res.statusCode, 401, JSON.stringify(claims))
    t.equal(res.body, INVALID)
  }
})

t.test('POST /api/token/verify/: a token signed with another key is invalid', async t => {
  for (const key of ['another-signing-key-0123456789abcdef-0123456789abcdef-0123456789', 'x']) {
    const res = await verify(app, forge(accessClaims(clock), { key }))
    t.equal(res.statusCode, 401)
    t.equal(res.body, INVALID)
  }
})

t.test('POST /api/token/verify/: alg none, and other algorithms than the configured one, are invalid', async t => {
  const payload = b64(JSON.stringify(accessClaims(clock)))
  const tokens = [
    `${b64('{"alg":"none","typ":"JWT"}')}.${payload}.`,
    `${b64('{"alg":"none","typ":"JWT"}')}.${payload}`,
    `${b64('{"alg":"None","typ":"JWT"}')}.${payload}.`,
    forge(accessClaims(clock), { alg: 'HS384' }),
    forge(accessClaims(clock), { alg: 'HS512' }),
    // HS256 signature under a header that claims HS512
    forge(accessClaims(clock), { header: { alg: 'HS512', typ: 'JWT' } })
  ]
  for (const token of tokens) {
    const res = await verify(app, token)
    t.equal(res.statusCode, 401, token)
    t.equal(res.body, INVALID)
    t.equal(res.headers['www-authenticate'], WWW)
  }
})

t.test('POST /api/token/verify/: a well-signed token without exp has no \'exp\' claim', async t => {
  const { exp: _exp, ...claims } = accessClaims(clock)
  const res = await verify(app, forge(claims))
  t.equal(res.statusCode, 401)
  t.equal(res.body, notValid("Token has no 'exp' claim"))
  t.equal(res.headers['www-authenticate'], WWW)
})

t.test('POST /api/token/verify/: a well-signed token without jti has no id', async t => {
  const { jti: _jti, ...claims } = accessClaims(clock)
  const res = await verify(app, forge(claims))
  t.equal(res.statusCode, 401)
  t.equal(res.body, notValid('Token has no id'))
  t.equal(res.headers['www-authenticate'], WWW)
})

t.test('POST /api/token/verify/: the HS512 app verifies its own tokens and refuses HS256 ones', async t => {
  const server = await build(t, { JWT_ALGORITHM: 'HS512' }, { clock })
  t.equal((await verify(server, forge(accessClaims(clock), { alg: 'HS512' }))).body, '{}')
  t.equal((await verify(server, forge(accessClaims(clock)))).body, INVALID)
})

t.test('POST /api/token/verify/: surrounding whitespace around the token is trimmed', async t => {
  t.equal((await verify(app, ` ${forge(accessClaims(clock))}\t`)).body, '{}')
})

t.test('POST /api/token/verify/: field errors (missing, blank, null, not a string)', async t => {
  const cases: Array<[unknown, Record<string, string[]>]> = [
    [{}, { token: ['This field is required.'] }],
    [{ access: 'x' }, { token: ['This field is required.'] }],
    [{ token: '' }, { token: ['This field may not be blank.'] }],
    [{ token: ' \n ' }, { token: ['This field may not be blank.'] }],
    [{ token: null }, { token: ['This field may not be null.'] }],
    [{ token: { a: 1 } }, { token: ['Not a valid string.'] }],
    [{ token: [] }, { token: ['Not a valid string.'] }],
    [{ token: false }, { token: ['Not a valid string.'] }],
    [{ token: '\u0000\u0000' }, { token: ['Null characters are not allowed.'] }]
  ]
  for (const [payload, expected] of cases) {
    const res = await app.inject({ method: 'POST', url: '/api/token/verify/', payload: payload as Record<string, unknown> })
    t.equal(res.statusCode, 400, JSON.stringify(payload))
    t.equal(res.body, JSON.stringify(expected), JSON.stringify(payload))
    t.equal(res.headers['www-authenticate'], undefined)
  }
})

t.test('POST /api/token/verify/: garbage is invalid or expired', async t => {
  for (const token of ['not.a.jwt', 'garbage', '...', 'a'.repeat(10000), 12345]) {
    const res = await verify(app, token)
    t.equal(res.statusCode, 401, String(token).slice(0, 20))
    t.equal(res.body, INVALID)
  }
})
