import { createHmac } from 'node:crypto'
import t from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import {
  accessClaims, bearer, build, Clock, createUser, decodeParts, FIXED_MS, forge, obtainPair, resetDb,
  TEST_KEY, testDatabase
} from '../helper.js'

// The greeting, and the guard's wiring: what JWTAuthentication answers reaches the client as DRF's 401
// with its challenge. The header and token rules themselves are unit-tested without an app in
// test/domain/authentication.test.ts; the signature and format checks of the real verifier
// (@fastify/jwt, fast-jwt) stay here, as they need the app's own signer.
// One database for every app of this file: the default app, and apps with other settings on top of it.
const clock = new Clock()
const database = await testDatabase(t)
const app = await build(t, {}, { clock, database })
const jwtFirstApp = await build(t, { AUTH_HEADER_TYPES: ['JWT', 'Bearer'] }, { clock, database })
const bothApp = await build(t, { AUTH_TOKEN_CLASSES: ['access', 'sliding'] }, { clock, database })

t.beforeEach(async () => {
  clock.ms = FIXED_MS
  await resetDb(app)
})

const HELLO = '/api/hello/'
const WWW_AUTHENTICATE = 'Bearer realm="api"'

const NOT_VALID = (message: string) => ({
  detail: 'Given token not valid for any token type',
  code: 'token_not_valid',
  messages: [{ token_class: 'AccessToken', token_type: 'access', message }]
})
const INVALID = NOT_VALID('Token is invalid or expired')
const NOT_PROVIDED = { detail: 'Authentication credentials were not provided.' }
const BAD_HEADER = { detail: 'Authorization header must contain two space-delimited values', code: 'bad_authorization_header' }

type Assert = Pick<typeof t, 'equal' | 'same' | 'match'>

/** GET /api/hello/ with an Authorization header (none when undefined). */
function hello (authorization?: string, on: FastifyInstance = app): Promise<LightMyRequestResponse> {
  return on.inject({ method: 'GET', url: HELLO, headers: authorization === undefined ? {} : { authorization } })
}

/** The tutorial's 200: status, the exact bytes of the body, and no challenge. */
function assertHello (t: Assert, res: LightMyRequestResponse, msg = 'Hello Peter Parker', label = '') {
  t.equal(res.statusCode, 200, `${label} status 200`.trim())
  t.equal(res.body, JSON.stringify({ msg }), `${label} body`.trim())
  t.equal(res.headers['www-authenticate'], undefined, `${label} no WWW-Authenticate`.trim())
}

/** A 401: status, the challenge every 401 carries, and the exact body. */
function assert401 (t: Assert, res: LightMyRequestResponse, body: unknown, label = '', challenge = WWW_AUTHENTICATE) {
  t.equal(res.statusCode, 401, `${label} status 401`.trim())
  t.equal(res.headers['www-authenticate'], challenge, `${label} WWW-Authenticate`.trim())
  t.same(res.json(), body, `${label} body`.trim())
}

const b64 = (value: string | Buffer) => Buffer.from(value).toString('base64url')

/** An HS256 signature over the two first segments exactly as written (padding and all). */
function signRaw (header: string, payload: string, key = TEST_KEY): string {
  return `${header}.${payload}.${createHmac('sha256', key).update(`${header}.${payload}`).digest('base64url')}`
}

t.test('GET /api/hello/: the tutorial answer with a valid access token (row 33)', async t => {
  await createUser(app)
  const { access } = await obtainPair(app)
  const res = await app.inject({ method: 'GET', url: HELLO, headers: bearer(access) })
  assertHello(t, res)
  t.same(res.json(), { msg: 'Hello Peter Parker' })
  t.match(res.headers['content-type'], /^application\/json(; charset=utf-8)?$/, 'JSON (spec D13)')
  t.equal(res.headers.allow, 'GET, HEAD, OPTIONS')
  t.equal(res.headers['x-frame-options'], 'DENY')
  t.equal(res.headers['x-content-type-options'], 'nosniff')
  t.equal(res.headers['referrer-policy'], 'same-origin')
})

t.test('GET /api/hello/: the greeting names the user the token names', async t => {
  await createUser(app)
  await createUser(app, { username: 'mj', password: 'tiger', firstName: 'Mary Jane', lastName: 'Watson' })
  const { access } = await obtainPair(app, 'mj', 'tiger')
  t.equal(decodeParts(access).payload.user_id, 2)
  assertHello(t, await hello(`Bearer ${access}`), 'Hello Mary Jane Watson')
  assertHello(t, await hello(`Bearer ${forge(accessClaims(clock, { user_id: 2 }))}`), 'Hello Mary Jane Watson', 'forged')
})

t.test('GET /api/hello/: the guard answers DRF\'s 401 with the challenge (rows 34, 36, 41)', async t => {
  await createUser(app)
  const { access } = await obtainPair(app)
  assert401(t, await hello(), NOT_PROVIDED, 'no header')
  assert401(t, await hello(''), NOT_PROVIDED, 'empty header')
  assert401(t, await hello(`bearer ${access}`), NOT_PROVIDED, 'lowercase bearer')
  assert401(t, await hello('Bearer'), BAD_HEADER, 'Bearer alone')
  assert401(t, await hello('Bearer garbage'), INVALID, 'a garbage token')
  assert401(t, await hello(`Bearer ${forge(accessClaims(clock, { exp: clock.seconds }))}`), INVALID, 'an expired token')
  assertHello(t, await hello(`Bearer\t${access}`), undefined, 'scheme and token apart by a tab')
})

t.test('GET /api/hello/: a token issued before revoke-all is refused', async t => {
  await createUser(app)
  const { access } = await obtainPair(app)
  assertHello(t, await hello(`Bearer ${access}`), undefined, 'before')
  clock.tick(1)
  const { access: other } = await obtainPair(app)
  clock.tick(1)
  const res = await app.inject({ method: 'POST', url: '/api/token/revoke-all/', headers: bearer(other) })
  t.equal(res.statusCode, 200, 'revoke-all')
  assert401(t, await hello(`Bearer ${access}`), NOT_VALID('Token is blacklisted'), 'after')
  assert401(t, await hello(`Bearer ${other}`), NOT_VALID('Token is blacklisted'), 'the revoking token too')
  assert401(t, await hello(`Bearer ${(await obtainPair(app)).access}`), NOT_VALID('Token is blacklisted'), 'a new login in the revocation\'s own second')
  clock.tick(1)
  assertHello(t, await hello(`Bearer ${(await obtainPair(app)).access}`), undefined, 'a new login')
})

t.test('GET /api/hello/: sliding tokens when AUTH_TOKEN_CLASSES has sliding', async t => {
  await createUser(app)
  const res = await bothApp.inject({ method: 'POST', url: '/api/token/sliding/', payload: { username: 'spiderman', password: 'underoos' } })
  const { token } = res.json()
  assertHello(t, await hello(`Bearer ${token}`, bothApp), undefined, 'sliding on the app with sliding')
  assertHello(t, await hello(`Bearer ${(await obtainPair(app)).access}`, bothApp), undefined, 'access on the app with sliding')
  assert401(t, await hello(`Bearer ${token}`), NOT_VALID('Token has wrong type'), 'sliding on the default app')
  await bothApp.inject({ method: 'POST', url: '/api/token/sliding/blacklist/', payload: { token } })
  assert401(t, await hello(`Bearer ${token}`, bothApp), {
    detail: 'Given token not valid for any token type',
    code: 'token_not_valid',
    messages: [
      { token_class: 'AccessToken', token_type: 'access', message: 'Token has wrong type' },
      { token_class: 'SlidingToken', token_type: 'sliding', message: 'Token is blacklisted' }
    ]
  }, 'a blacklisted sliding token')
})

t.test('GET /api/hello/: well-signed tokens whose header or payload is not a JSON object', async t => {
  await createUser(app)
  const header = b64('{"alg":"HS256","typ":"JWT"}')
  const payload = b64(JSON.stringify(accessClaims(clock)))
  const tokens: Record<string, string> = {
    'header null': signRaw(b64('null'), payload),
    'header []': signRaw(b64('[]'), payload),
    'header "HS256"': signRaw(b64('"HS256"'), payload),
    'header not JSON': signRaw(b64('{alg:HS256}'), payload),
    'payload not JSON': signRaw(header, b64('user_id=1')),
    'payload []': signRaw(header, b64('[1]')),
    'payload null': signRaw(header, b64('null')),
    'payload "access"': signRaw(header, b64('"access"')),
    'payload 1': signRaw(header, b64('1')),
    'payload {} and more': signRaw(header, b64('{}{}'))
  }
  for (const [label, token] of Object.entries(tokens)) {
    assert401(t, await hello(`Bearer ${token}`), INVALID, label)
  }
})

t.test('GET /api/hello/: a header or payload that is not UTF-8 is invalid (PyJWT json.loads)', async t => {
  await createUser(app)
  const header = b64('{"alg":"HS256","typ":"JWT"}')
  const latin1 = Buffer.from(JSON.stringify(accessClaims(clock, { name: 'Andr\u00e9' })), 'latin1').toString('base64url')
  assert401(t, await hello(`Bearer ${signRaw(header, latin1)}`), INVALID, 'payload in latin-1')
  const badHeader = Buffer.from('{"alg":"HS256","typ":"JWT","x":"\u00e9"}', 'latin1').toString('base64url')
  assert401(t, await hello(`Bearer ${signRaw(badHeader, b64(JSON.stringify(accessClaims(clock))))}`), INVALID, 'header in latin-1')
  // The same claims in UTF-8 are fine.
  assertHello(t, await hello(`Bearer ${forge(accessClaims(clock, { name: 'Andr\u00e9' }))}`), undefined, 'payload in UTF-8')
})

t.test('GET /api/hello/: a token for an inactive user (row 43)', async t => {
  await createUser(app)
  const ghost = await createUser(app, { username: 'ghost', password: 'boo', isActive: false })
  t.equal(ghost.id, 2)
  const token = forge(accessClaims(clock, { user_id: ghost.id, jti: 'e7d01ecede9c33d73b163d752e81d473' }))
  assert401(t, await hello(`Bearer ${token}`), { detail: 'User is inactive', code: 'user_inactive' })
})

t.test('GET /api/hello/: a token minted before its user was deactivated', async t => {
  await createUser(app)
  const { access } = await obtainPair(app)
  await app.simplejwt.users.update('spiderman', { isActive: false })
  assert401(t, await hello(`Bearer ${access}`), { detail: 'User is inactive', code: 'user_inactive' })
})

t.test('GET /api/hello/: a token for a user id that does not exist (row 44)', async t => {
  await createUser(app)
  const token = forge(accessClaims(clock, { user_id: 987654321, jti: '5dba6452134e832b8fad5ae206707b8e' }))
  assert401(t, await hello(`Bearer ${token}`), { detail: 'User not found', code: 'user_not_found' })
  // Beyond PostgreSQL's integer column, yet a safe JSON integer: still "not found", not a fault.
  const huge = forge(accessClaims(clock, { user_id: 2 ** 53 - 1 }))
  assert401(t, await hello(`Bearer ${huge}`), { detail: 'User not found', code: 'user_not_found' }, '2^53 - 1')
})

t.test('GET /api/hello/: alg "none", in any casing, with or without a signature (row 48)', async t => {
  await createUser(app)
  const claims = accessClaims(clock)
  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    const signed = forge(claims, { header: { alg, typ: 'JWT' } })
    const unsigned = signed.slice(0, signed.lastIndexOf('.') + 1)
    assert401(t, await hello(`Bearer ${unsigned}`), INVALID, `${alg}, empty signature`)
    assert401(t, await hello(`Bearer ${signed}`), INVALID, `${alg}, HMAC signature`)
  }
  const noAlg = forge(claims, { header: { typ: 'JWT' } })
  assert401(t, await hello(`Bearer ${noAlg}`), INVALID, 'no alg at all')
})

t.test('GET /api/hello/: a token signed with another key', async t => {
  await createUser(app)
  const token = forge(accessClaims(clock), { key: 'another-signing-key-0123456789abcdef-0123456789abcdef' })
  assert401(t, await hello(`Bearer ${token}`), INVALID)
})

t.test('GET /api/hello/: a tampered payload with the signature kept', async t => {
  await createUser(app)
  await createUser(app, { username: 'mj', firstName: 'Mary Jane', lastName: 'Watson' })
  const { access } = await obtainPair(app)
  const [header, payload, signature] = access.split('.')
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString())
  const tampered = `${header}.${b64(JSON.stringify({ ...claims, user_id: 2 }))}.${signature}`
  assert401(t, await hello(`Bearer ${tampered}`), INVALID, 'user_id changed')
  const extended = `${header}.${b64(JSON.stringify({ ...claims, exp: claims.exp + 86400 }))}.${signature}`
  assert401(t, await hello(`Bearer ${extended}`), INVALID, 'exp extended')
  // The header is signed too.
  const retyped = `${b64('{"typ":"JWT","alg":"HS256"}')}.${payload}.${signature}`
  assert401(t, await hello(`Bearer ${retyped}`), INVALID, 'header reordered')
  assertHello(t, await hello(`Bearer ${access}`), undefined, 'the original')
})

t.test('GET /api/hello/: a token with another algorithm than the configured HS256', async t => {
  await createUser(app)
  for (const alg of ['HS512', 'HS384'] as const) {
    assert401(t, await hello(`Bearer ${forge(accessClaims(clock), { alg })}`), INVALID, alg)
  }
  // An HS256 signature under a header naming another algorithm.
  const relabelled = forge(accessClaims(clock), { header: { alg: 'HS512', typ: 'JWT' } })
  assert401(t, await hello(`Bearer ${relabelled}`), INVALID, 'header HS512, HS256 signature')
  for (const alg of ['RS256', 'ES256', 'hs256']) {
    const token = forge(accessClaims(clock), { header: { alg, typ: 'JWT' } })
    assert401(t, await hello(`Bearer ${token}`), INVALID, alg)
  }
})

t.test('GET /api/hello/: strict base64url, no junk, padding or other alphabet (spec D3, row 51)', async t => {
  await createUser(app)
  const { access } = await obtainPair(app)
  assertHello(t, await hello(`Bearer ${access}`), undefined, 'the token as minted')
  const [header, payload, signature] = access.split('.')
  const variants: Record<string, string> = {
    '!!!! appended (row 51)': `${access}!!!!`,
    '**** appended': `${access}****`,
    '= appended': `${access}=`,
    '== appended': `${access}==`,
    '= inside the signature': `${header}.${payload}.${signature.slice(0, 20)}=${signature.slice(20)}`,
    'padded header': `${header}=.${payload}.${signature}`,
    'percent-encoding inside the signature': `${header}.${payload}.${signature.slice(0, 20)}%3D${signature.slice(20)}`,
    'one character dropped': `${header}.${payload}.${signature.slice(0, -1)}`
  }
  for (const [label, token] of Object.entries(variants)) {
    assert401(t, await hello(`Bearer ${token}`), INVALID, label)
  }

  // The last character of a 32-byte signature carries 2 unused bits; setting them spells the same bytes.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const last = alphabet.indexOf(signature.at(-1) as string)
  const sameBytes = `${header}.${payload}.${signature.slice(0, -1)}${alphabet[last + 1]}`
  t.same(Buffer.from(sameBytes.split('.')[2], 'base64url'), Buffer.from(signature, 'base64url'), 'the variant decodes to the same bytes')
  assert401(t, await hello(`Bearer ${sameBytes}`), INVALID, 'non-canonical trailing bits')

  // A payload segment signed with its padding included: PyJWT accepts it, we do not.
  const paddedPayload = payload.length % 4 === 0 ? payload : payload + '='.repeat(4 - payload.length % 4)
  if (paddedPayload !== payload) {
    assert401(t, await hello(`Bearer ${signRaw(header, paddedPayload)}`), INVALID, 'payload signed with padding')
  }
  assert401(t, await hello(`Bearer ${signRaw(header + '=', payload)}`), INVALID, 'header signed with =')

  // Standard base64's + and / in place of - and _.
  let standard: string | undefined
  for (let i = 0; standard === undefined && i < 100; i++) {
    const token = forge(accessClaims(clock, { jti: i.toString(16).padStart(32, '0') }))
    if (/[-_]/.test(token)) standard = token.replaceAll('-', '+').replaceAll('_', '/')
  }
  t.ok(standard, 'a token with - or _ was found')
  assert401(t, await hello(`Bearer ${standard}`), INVALID, 'standard base64 alphabet')
})

t.test('GET /api/hello/: an unknown crit header parameter is refused (spec D6)', async t => {
  await createUser(app)
  const claims = accessClaims(clock)
  const headers = [
    { alg: 'HS256', typ: 'JWT', crit: ['x-unknown'], 'x-unknown': true },
    { alg: 'HS256', typ: 'JWT', crit: ['exp'], exp: clock.seconds + 300 },
    { alg: 'HS256', typ: 'JWT', crit: [] },
    { alg: 'HS256', typ: 'JWT', crit: 'x-unknown' }
  ]
  for (const header of headers) {
    assert401(t, await hello(`Bearer ${forge(claims, { header })}`), INVALID, JSON.stringify(header.crit))
  }
  // Other header parameters are ignored, as PyJWT does.
  const other = forge(claims, { header: { alg: 'HS256', typ: 'JWT', 'x-note': 'k1' } })
  assertHello(t, await hello(`Bearer ${other}`), undefined, 'an unknown non-critical parameter')
  // A kid must name a configured key, and key-fetching headers are refused (RFC 8725 §3.10).
  for (const header of [{ kid: 'k1' }, { jku: 'http://127.0.0.1:1/jwks.json' }, { x5u: 'http://127.0.0.1:1/cert.pem' }, { jwk: { kty: 'oct', k: 'AAAA' } }, { x5c: ['AAAA'] }]) {
    const token = forge(claims, { header: { alg: 'HS256', typ: 'JWT', ...header } })
    assert401(t, await hello(`Bearer ${token}`), INVALID, Object.keys(header)[0])
  }
})

t.test('GET /api/hello/: the challenge names the first of AUTH_HEADER_TYPES', async t => {
  await createUser(app)
  const { access } = await obtainPair(app)
  assertHello(t, await hello(`JWT ${access}`, jwtFirstApp), undefined, 'JWT')
  assertHello(t, await hello(`Bearer ${access}`, jwtFirstApp), undefined, 'Bearer')
  // simplejwt: '{} realm="{}"'.format(AUTH_HEADER_TYPES[0], 'api'), on the hello view and the token views alike.
  for (const [label, authorization, body] of [['no header', undefined, NOT_PROVIDED], ['garbage', 'JWT garbage', INVALID]] as const) {
    const res = await hello(authorization, jwtFirstApp)
    t.equal(res.statusCode, 401, `${label} status 401`)
    t.same(res.json(), body, `${label} body`)
    t.equal(res.headers['www-authenticate'], 'JWT realm="api"', `${label} WWW-Authenticate`)
  }
  const res = await jwtFirstApp.inject({ method: 'POST', url: '/api/token/', payload: { username: 'spiderman', password: 'wrong' } })
  t.equal(res.statusCode, 401, 'login failure')
  t.equal(res.headers['www-authenticate'], 'JWT realm="api"', 'login failure challenge')
})

t.test('POST /api/hello/: another method is 405 with DRF\'s wording (row 52)', async t => {
  await createUser(app)
  const { access } = await obtainPair(app)
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
    const res = await app.inject({ method, url: HELLO, headers: bearer(access), payload: {} })
    t.equal(res.statusCode, 405, `${method} status`)
    t.same(res.json(), { detail: `Method "${method}" not allowed.` }, `${method} body`)
    t.equal(res.headers['www-authenticate'], undefined, `${method} has no WWW-Authenticate`)
    t.equal(res.headers.allow, 'GET, HEAD, OPTIONS', `${method} Allow`)
  }
  const res = await app.inject({ method: 'POST', url: '/api/hello', headers: bearer(access), payload: {} })
  t.equal(res.statusCode, 405, 'without the trailing slash')
  t.equal(res.body, '{"detail":"Method \\"POST\\" not allowed."}', 'the exact bytes')
})

t.test('POST /api/hello/: authentication comes before the method check', async t => {
  assert401(t, await app.inject({ method: 'OPTIONS', url: HELLO }), NOT_PROVIDED, 'OPTIONS without a header')
  for (const method of ['POST', 'DELETE'] as const) {
    assert401(t, await app.inject({ method, url: HELLO, payload: {} }), NOT_PROVIDED, `${method} without a header`)
    assert401(t, await app.inject({ method, url: HELLO, headers: { authorization: 'Bearer garbage' }, payload: {} }), INVALID, `${method} with garbage`)
  }
})

t.test('HEAD /api/hello/: answered like GET, without a body', async t => {
  await createUser(app)
  const { access } = await obtainPair(app)
  const ok = await app.inject({ method: 'HEAD', url: HELLO, headers: bearer(access) })
  t.equal(ok.statusCode, 200)
  t.equal(ok.body, '')
  t.equal(ok.headers['www-authenticate'], undefined)
  const denied = await app.inject({ method: 'HEAD', url: HELLO })
  t.equal(denied.statusCode, 401)
  t.equal(denied.headers['www-authenticate'], WWW_AUTHENTICATE)
  t.equal(denied.body, '')
  const expired = await app.inject({ method: 'HEAD', url: HELLO, headers: bearer(forge(accessClaims(clock, { exp: clock.seconds }))) })
  t.equal(expired.statusCode, 401, 'expired')
  t.equal(expired.headers['www-authenticate'], WWW_AUTHENTICATE, 'expired challenge')
})

t.test('GET /api/hello: the path without its trailing slash answers the same (spec D12)', async t => {
  await createUser(app)
  const { access } = await obtainPair(app)
  const res = await app.inject({ method: 'GET', url: '/api/hello', headers: bearer(access) })
  assertHello(t, res)
  t.equal(res.headers.location, undefined, 'no redirect')
  assert401(t, await app.inject({ method: 'GET', url: '/api/hello' }), NOT_PROVIDED, 'no header')
  assert401(t, await app.inject({ method: 'GET', url: '/api/hello', headers: bearer(`${access}x`) }), INVALID, 'bad token')
  assertHello(t, await app.inject({ method: 'GET', url: '/api/hello/?format=json', headers: bearer(access) }), undefined, 'with a query string')
})

t.test('GET /api/hello/: Accept: text/html still gets the JSON greeting (row 53: no browsable API)', async t => {
  await createUser(app)
  const { access } = await obtainPair(app)
  const res = await app.inject({ method: 'GET', url: HELLO, headers: { ...bearer(access), accept: 'text/html' } })
  assertHello(t, res)
  t.match(res.headers['content-type'], /^application\/json/)
})

t.test('GET /api/hello/: the token routes are not guarded by the hello hook', async t => {
  await createUser(app)
  const res = await app.inject({ method: 'POST', url: '/api/token/', headers: { authorization: 'Bearer garbage' }, payload: { username: 'spiderman', password: 'underoos' } })
  t.equal(res.statusCode, 200)
  t.same(Object.keys(res.json()), ['refresh', 'access'])
})
