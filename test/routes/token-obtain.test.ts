// POST /api/token/ (TokenObtainPairView): spec simplejwt-wire.md, transcripts.md §A rows 1–10 and §G
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, Clock, createUser, decodeParts, FIXED_MS, forge, resetDb, testDatabase } from '../helper.js'

const clock = new Clock()
const database = await testDatabase(t)
const app = await build(t, {}, { clock, database })
t.beforeEach(async () => {
  clock.ms = FIXED_MS
  await resetDb(app)
})

const NO_ACCOUNT = '{"detail":"No active account found with the given credentials"}'
const JTI = /^[0-9a-f]{32}$/

function login (server: FastifyInstance, payload: unknown) {
  return server.inject({ method: 'POST', url: '/api/token/', payload: payload as Record<string, unknown> })
}

/** A JSON body sent verbatim, for values an object cannot carry (e.g. `1.0`). */
function loginRaw (server: FastifyInstance, body: string) {
  return server.inject({ method: 'POST', url: '/api/token/', payload: body, headers: { 'content-type': 'application/json' } })
}

/** simplejwt's payload text for a token minted at `iat`, claims in its order. */
function payloadText (type: 'access' | 'refresh', iat: number, lifetime: number, jti: string, userId: number, tail = ''): string {
  return `{"token_type":"${type}","exp":${iat + lifetime},"iat":${iat},"jti":"${jti}","user_id":${userId}${tail}}`
}

t.test('POST /api/token/: 200 with refresh then access, tokens exactly as simplejwt mints them', async t => {
  const user = await createUser(app)
  const res = await login(app, { username: 'spiderman', password: 'underoos' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json(; charset=utf-8)?$/)
  t.equal(res.headers['www-authenticate'], undefined)
  t.match(res.body, /^\{"refresh":"[\w.-]+","access":"[\w.-]+"\}$/, 'key order refresh, access')
  const body = res.json()
  t.same(Object.keys(body), ['refresh', 'access'])

  const refresh = decodeParts(body.refresh)
  const access = decodeParts(body.access)
  for (const token of [body.refresh, body.access]) {
    t.equal(Buffer.from(token.split('.')[0], 'base64url').toString(), '{"alg":"HS256","typ":"JWT"}', 'JOSE header verbatim')
    t.equal(Buffer.from(token.split('.')[2], 'base64url').length, 32, 'HS256 signature is 32 bytes')
    t.notMatch(token, /=/, 'no base64 padding')
  }
  t.match(refresh.payload.jti, JTI)
  t.match(access.payload.jti, JTI)
  t.not(refresh.payload.jti, access.payload.jti, 'distinct jti')

  const iat = clock.seconds
  t.equal(refresh.payloadText, payloadText('refresh', iat, 86400, refresh.payload.jti as string, user.id))
  t.equal(access.payloadText, payloadText('access', iat, 300, access.payload.jti as string, user.id))
  // The signature is HMAC-SHA256 over the two segments with the configured key: an independent signer agrees.
  t.equal(body.access, forge({}, { rawPayload: access.payloadText }))
  t.equal(body.refresh, forge({}, { rawPayload: refresh.payloadText }))
})

t.test('POST /api/token/: every token gets a new jti, and iat follows the clock', async t => {
  await createUser(app)
  const seen = new Set<string>()
  for (let i = 0; i < 3; i++) {
    const { refresh, access } = (await login(app, { username: 'spiderman', password: 'underoos' })).json()
    const r = decodeParts(refresh).payload
    const a = decodeParts(access).payload
    t.equal(r.iat, clock.seconds)
    t.equal(a.iat, clock.seconds, 'shared iat')
    t.equal((a.exp as number) - (a.iat as number), 300)
    t.equal((r.exp as number) - (r.iat as number), 86400)
    seen.add(r.jti as string)
    seen.add(a.jti as string)
    clock.tick(7)
  }
  t.equal(seen.size, 6)
})

t.test('POST /api/token/: lifetimes come from ACCESS_TOKEN_LIFETIME and REFRESH_TOKEN_LIFETIME (seconds)', async t => {
  const custom = await build(t, { ACCESS_TOKEN_LIFETIME: 60, REFRESH_TOKEN_LIFETIME: 3600 }, { clock, database })
  const user = await createUser(custom)
  const body = (await login(custom, { username: 'spiderman', password: 'underoos' })).json()
  const refresh = decodeParts(body.refresh)
  const access = decodeParts(body.access)
  t.equal(refresh.payloadText, payloadText('refresh', clock.seconds, 3600, refresh.payload.jti as string, user.id))
  t.equal(access.payloadText, payloadText('access', clock.seconds, 60, access.payload.jti as string, user.id))
})

t.test('POST /api/token/: aud and iss are appended after user_id when configured', async t => {
  const cases: Array<[Record<string, string>, string]> = [
    [{ JWT_AUDIENCE: 'conformance-audience', JWT_ISSUER: 'https://issuer.conformance.test' }, ',"aud":"conformance-audience","iss":"https://issuer.conformance.test"'],
    [{ JWT_AUDIENCE: 'conformance-audience' }, ',"aud":"conformance-audience"'],
    [{ JWT_ISSUER: 'https://issuer.conformance.test' }, ',"iss":"https://issuer.conformance.test"']
  ]
  for (const [overrides, tail] of cases) {
    await resetDb(app)
    const server = await build(t, overrides, { clock, database })
    const user = await createUser(server)
    const body = (await login(server, { username: 'spiderman', password: 'underoos' })).json()
    const refresh = decodeParts(body.refresh)
    const access = decodeParts(body.access)
    t.equal(refresh.payloadText, payloadText('refresh', clock.seconds, 86400, refresh.payload.jti as string, user.id, tail), JSON.stringify(overrides))
    t.equal(access.payloadText, payloadText('access', clock.seconds, 300, access.payload.jti as string, user.id, tail), JSON.stringify(overrides))
  }
})

t.test('POST /api/token/: the hs512-short-aud profile (HS512, 3 s / 6 s, audience and issuer)', async t => {
  const server = await build(t, {
    JWT_ALGORITHM: 'HS512',
    ACCESS_TOKEN_LIFETIME: 3,
    REFRESH_TOKEN_LIFETIME: 6,
    JWT_AUDIENCE: 'conformance-audience',
    JWT_ISSUER: 'https://issuer.conformance.test'
  }, { clock, database })
  const user = await createUser(server)
  const body = (await login(server, { username: 'spiderman', password: 'underoos' })).json()
  const access = decodeParts(body.access)
  const tail = ',"aud":"conformance-audience","iss":"https://issuer.conformance.test"'
  t.equal(access.payloadText, payloadText('access', clock.seconds, 3, access.payload.jti as string, user.id, tail))
  t.equal(body.access, forge({}, { alg: 'HS512', rawPayload: access.payloadText }))
  t.equal(body.access.length, 363, 'as long as the reference token (§Part 2, hs512-short-aud)')
  t.equal(body.refresh.length, 364)
})

t.test('POST /api/token/: HS384 and HS512 headers and signature lengths', async t => {
  for (const [alg, bytes] of [['HS384', 48], ['HS512', 64]] as const) {
    await resetDb(app)
    const server = await build(t, { JWT_ALGORITHM: alg }, { clock, database })
    await createUser(server)
    const body = (await login(server, { username: 'spiderman', password: 'underoos' })).json()
    for (const token of [body.refresh, body.access] as string[]) {
      const [header, , signature] = token.split('.')
      t.equal(Buffer.from(header, 'base64url').toString(), `{"alg":"${alg}","typ":"JWT"}`, `${alg} header`)
      t.equal(Buffer.from(signature, 'base64url').length, bytes, `${alg} signature is ${bytes} bytes`)
      t.equal(token, forge({}, { alg, rawPayload: decodeParts(token).payloadText }), `${alg} signature verifies independently`)
    }
  }
})

t.test('POST /api/token/: wrong password, unknown user and inactive user get one and the same 401', async t => {
  await createUser(app)
  await createUser(app, { username: 'ghost', password: 'boo-boo-1234', isActive: false })
  const attempts = [
    { username: 'spiderman', password: 'wrong' },
    { username: 'nobody', password: 'x' },
    { username: 'ghost', password: 'boo-boo-1234' },
    { username: 'ghost', password: 'wrong' },
    { username: 'SPIDERMAN', password: 'underoos' }
  ]
  for (const attempt of attempts) {
    const res = await login(app, attempt)
    t.equal(res.statusCode, 401, attempt.username)
    t.equal(res.body, NO_ACCOUNT, 'no code key')
    t.same(res.json(), { detail: 'No active account found with the given credentials' })
    t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
  }
})

t.test('POST /api/token/: field errors in DRF\'s words, every failing field listed in order', async t => {
  await createUser(app)
  const cases: Array<[unknown, Record<string, string[]>]> = [
    [{}, { username: ['This field is required.'], password: ['This field is required.'] }],
    [{ username: 'spiderman' }, { password: ['This field is required.'] }],
    [{ password: 'underoos' }, { username: ['This field is required.'] }],
    [{ username: '', password: '' }, { username: ['This field may not be blank.'], password: ['This field may not be blank.'] }],
    [{ username: '   ', password: ' \t\n\r ' }, { username: ['This field may not be blank.'], password: ['This field may not be blank.'] }],
    [{ username: 'spiderman', password: '    ' }, { password: ['This field may not be blank.'] }],
    [{ username: null, password: null }, { username: ['This field may not be null.'], password: ['This field may not be null.'] }],
    [{ username: {}, password: [1] }, { username: ['Not a valid string.'], password: ['Not a valid string.'] }],
    [{ username: true, password: false }, { username: ['Not a valid string.'], password: ['Not a valid string.'] }],
    [{ username: ['spiderman'], password: { value: 'underoos' } }, { username: ['Not a valid string.'], password: ['Not a valid string.'] }],
    [{ username: 'spi\u0000der\u0000man', password: 'x' }, { username: ['Null characters are not allowed.'] }],
    [{ username: '\u0000\u0000', password: 'un\u0000der\u0000oos' }, { username: ['Null characters are not allowed.'], password: ['Null characters are not allowed.'] }],
    [{ username: null }, { username: ['This field may not be null.'], password: ['This field is required.'] }],
    [{ password: null, username: '' }, { username: ['This field may not be blank.'], password: ['This field may not be null.'] }]
  ]
  for (const [payload, expected] of cases) {
    const res = await login(app, payload)
    t.equal(res.statusCode, 400, JSON.stringify(payload))
    t.same(res.json(), expected, JSON.stringify(payload))
    t.equal(res.body, JSON.stringify(expected), 'fields in declaration order')
    t.equal(res.headers['www-authenticate'], undefined)
  }
})

t.test('POST /api/token/: a single NUL character is refused with 400, never reaches the database', async t => {
  await createUser(app)
  const cases: Array<[unknown, Record<string, string[]>]> = [
    [{ username: 'spider\u0000man', password: 'x' }, { username: ['Null characters are not allowed.'] }],
    [{ username: 'spiderman', password: 'under\u0000oos' }, { password: ['Null characters are not allowed.'] }],
    [{ username: '\u0000', password: 'under\u0000oos' }, { username: ['Null characters are not allowed.'], password: ['Null characters are not allowed.'] }]
  ]
  for (const [payload, expected] of cases) {
    const res = await login(app, payload)
    t.equal(res.statusCode, 400, JSON.stringify(payload))
    t.equal(res.body, JSON.stringify(expected))
  }
})

t.test('POST /api/token/: numbers are accepted as strings (DRF CharField)', async t => {
  await createUser(app, { username: '12345', password: '1234' })
  await createUser(app, { username: 'decimal', password: '1.5' })
  const ok = await loginRaw(app, '{"username":12345,"password":1234}')
  t.equal(ok.statusCode, 200)
  t.same(Object.keys(ok.json()), ['refresh', 'access'])
  t.equal((await loginRaw(app, '{"username":"decimal","password":1.5}')).statusCode, 200)
  const wrong = await loginRaw(app, '{"username":12345,"password":4321}')
  t.equal(wrong.statusCode, 401)
  t.equal(wrong.body, NO_ACCOUNT)
})

t.test('POST /api/token/: a float written 1.0 is the string "1.0", as Python\'s str() spells it', async t => {
  await createUser(app, { username: 'floaty', password: '1.0' })
  const res = await loginRaw(app, '{"username":"floaty","password":1.0}')
  t.equal(res.statusCode, 200)
})

t.test('POST /api/token/: username and password are whitespace-trimmed', async t => {
  await createUser(app)
  for (const [username, password] of [[' spiderman ', ' underoos '], ['\tspiderman\n', '\r\nunderoos\t'], ['spiderman   ', '   underoos']]) {
    const res = await login(app, { username, password })
    t.equal(res.statusCode, 200, JSON.stringify([username, password]))
    t.same(Object.keys(res.json()), ['refresh', 'access'])
  }
  // Only surrounding whitespace goes: inner spaces are part of the value.
  t.equal((await login(app, { username: 'spider man', password: 'underoos' })).statusCode, 401)
  t.equal((await login(app, { username: 'spiderman', password: 'under oos' })).statusCode, 401)
})

t.test('POST /api/token/: trimming uses Python\'s whitespace set (str.strip)', async t => {
  await createUser(app)
  for (const pad of ['\x1c', '\x1d', '\x1e', '\x1f', '\x85']) {
    const res = await login(app, { username: `spiderman${pad}`, password: `${pad}underoos` })
    t.equal(res.statusCode, 200, `U+${pad.charCodeAt(0).toString(16).padStart(4, '0')} is stripped`)
  }
  const bom = await login(app, { username: 'spiderman', password: '\ufeff' })
  t.equal(bom.statusCode, 401, 'U+FEFF is not whitespace to Python: the password is not blank')
})

t.test('POST /api/token/: UPDATE_LAST_LOGIN=true records last_login at the clock\'s time', async t => {
  const server = await build(t, { UPDATE_LAST_LOGIN: true }, { clock, database })
  await createUser(server)
  t.equal((await login(server, { username: 'spiderman', password: 'wrong' })).statusCode, 401)
  t.equal((await server.simplejwt.users.findByUsername('spiderman'))?.lastLogin, null, 'a failed login records nothing')
  clock.tick(42)
  t.equal((await login(server, { username: 'spiderman', password: 'underoos' })).statusCode, 200)
  const user = await server.simplejwt.users.findByUsername('spiderman')
  t.equal(user?.lastLogin?.getTime(), FIXED_MS + 42_000)
})

t.test('POST /api/token/: UPDATE_LAST_LOGIN defaults to false and leaves last_login null', async t => {
  t.equal(app.simplejwt.config.UPDATE_LAST_LOGIN, false)
  await createUser(app)
  t.equal((await login(app, { username: 'spiderman', password: 'underoos' })).statusCode, 200)
  t.equal((await app.simplejwt.users.findByUsername('spiderman'))?.lastLogin, null)
})

t.test('POST /api/token/: username over 150 and password over 4096 characters are refused with 400', async t => {
  await createUser(app)
  const cases: Array<[unknown, Record<string, string[]>]> = [
    [{ username: 'a'.repeat(151), password: 'underoos' }, { username: ['Ensure this field has no more than 150 characters.'] }],
    [{ username: 'spiderman', password: 'p'.repeat(4097) }, { password: ['Ensure this field has no more than 4096 characters.'] }],
    [{ username: 'a'.repeat(1000), password: 'p'.repeat(5000) }, {
      username: ['Ensure this field has no more than 150 characters.'],
      password: ['Ensure this field has no more than 4096 characters.']
    }]
  ]
  for (const [payload, expected] of cases) {
    const res = await login(app, payload)
    t.equal(res.statusCode, 400)
    t.equal(res.body, JSON.stringify(expected))
  }
  // At the limits the request is looked at, and simply fails to authenticate.
  t.equal((await login(app, { username: 'a'.repeat(150), password: 'underoos' })).statusCode, 401)
  t.equal((await login(app, { username: 'spiderman', password: 'p'.repeat(4096) })).statusCode, 401)
})

t.test('POST /api/token/: the length limits apply to the trimmed value, as DRF validates after trimming', async t => {
  await createUser(app)
  const res = await login(app, { username: 'spiderman' + ' '.repeat(150), password: 'underoos' })
  t.equal(res.statusCode, 200)
})

t.test('POST /api/token/: lone surrogates are refused as DRF does', async t => {
  await createUser(app)
  const res = await loginRaw(app, '{"username":"spider\\ud800man","password":"underoos"}')
  t.equal(res.statusCode, 400)
  t.same(res.json(), { username: ['Surrogate characters are not allowed: U+D800.'] })
})
