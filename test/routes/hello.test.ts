import { createHmac } from 'node:crypto'
import t from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import {
  accessClaims, bearer, build, Clock, createUser, decodeParts, FIXED_MS, forge, obtainPair, resetDb,
  TEST_KEY, testDatabase
} from '../helper.js'

// One database for every app of this file: the default app, and apps with other settings on top of it.
const clock = new Clock()
const database = await testDatabase(t)
const app = await build(t, {}, { clock, database })
const leewayApp = await build(t, { JWT_LEEWAY: 30 }, { clock, database })
const AUDIENCE = 'conformance-audience'
const ISSUER = 'https://issuer.conformance.test'
const audApp = await build(t, { JWT_AUDIENCE: AUDIENCE, JWT_ISSUER: ISSUER }, { clock, database })
const twoTypesApp = await build(t, { AUTH_HEADER_TYPES: ['Bearer', 'JWT'] }, { clock, database })
const jwtFirstApp = await build(t, { AUTH_HEADER_TYPES: ['JWT', 'Bearer'] }, { clock, database })

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
const NO_USER = { detail: 'Token contained no recognizable user identification', code: 'token_not_valid' }

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

function without (claims: Record<string, unknown>, name: string): Record<string, unknown> {
  const { [name]: _removed, ...rest } = claims
  return rest
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

t.test('GET /api/hello/: no Authorization header is "not provided" (row 34)', async t => {
  assert401(t, await hello(), NOT_PROVIDED)
  assert401(t, await hello(''), NOT_PROVIDED, 'empty header')
  assert401(t, await hello('   '), NOT_PROVIDED, 'only spaces')
})

t.test('GET /api/hello/: another scheme is "not provided", even with a valid token (rows 38, 39)', async t => {
  await createUser(app)
  const { access } = await obtainPair(app)
  assert401(t, await hello('Basic c3BpZGVybWFuOnVuZGVyb29z'), NOT_PROVIDED, 'Basic')
  // The scheme is case-sensitive in simplejwt.
  for (const scheme of ['bearer', 'BEARER', 'JWT', 'Token', 'Bearer:', 'Bearerx']) {
    assert401(t, await hello(`${scheme} ${access}`), NOT_PROVIDED, scheme)
  }
  // A token alone, without any scheme, is one part that is not a scheme.
  assert401(t, await hello(access), NOT_PROVIDED, 'token alone')
  // bytes.split() splits on ASCII whitespace only: a no-break space joins scheme and token.
  assert401(t, await hello(`Bearer\u00a0${access}`), NOT_PROVIDED, 'no-break space')
})

t.test('GET /api/hello/: the header is split on any run of whitespace (row 40)', async t => {
  await createUser(app)
  const { access } = await obtainPair(app)
  assertHello(t, await hello(`Bearer  ${access}`), undefined, 'two spaces')
  assertHello(t, await hello(`Bearer\t${access}`), undefined, 'tab')
  assertHello(t, await hello(`Bearer \t ${access}`), undefined, 'space, tab, space')
  assertHello(t, await hello(`Bearer ${access} `), undefined, 'trailing space')
  assertHello(t, await hello(` Bearer ${access}`), undefined, 'leading space')
  // bytes.split() also splits on vertical tab and form feed.
  assertHello(t, await hello(`Bearer\v${access}`), undefined, 'vertical tab')
  assertHello(t, await hello(`Bearer\f${access}`), undefined, 'form feed')
})

t.test('GET /api/hello/: "Bearer" alone or with more than one value is a bad header (rows 41, 42)', async t => {
  await createUser(app)
  const { access } = await obtainPair(app)
  assert401(t, await hello('Bearer'), BAD_HEADER, 'Bearer alone')
  assert401(t, await hello('Bearer   '), BAD_HEADER, 'Bearer and spaces')
  assert401(t, await hello('Bearer a b'), BAD_HEADER, 'Bearer a b')
  assert401(t, await hello(`Bearer ${access} ${access}`), BAD_HEADER, 'two valid tokens')
  assert401(t, await hello(`Bearer ${access} x`), BAD_HEADER, 'a valid token and more')
})

t.test('GET /api/hello/: a garbage token (row 36)', async t => {
  for (const token of ['garbage', 'a.b.c', 'a.b', 'a.b.c.d', '..', '.', 'eyJ.eyJ.', '€']) {
    assert401(t, await hello(`Bearer ${token}`), INVALID, JSON.stringify(token))
  }
  // Far beyond any token we mint (row 63's 100 KB header): refused without being parsed.
  assert401(t, await hello(`Bearer ${'a'.repeat(102407)}`), INVALID, '100 KB token')
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

t.test('GET /api/hello/: an expired token, by moving the clock (row 37)', async t => {
  await createUser(app)
  const { access } = await obtainPair(app)
  clock.tick(299)
  assertHello(t, await hello(`Bearer ${access}`), undefined, 'one second before exp')
  clock.tick(1)
  assert401(t, await hello(`Bearer ${access}`), INVALID, 'at exp')
  clock.tick(3600)
  assert401(t, await hello(`Bearer ${access}`), INVALID, 'an hour later')
})

t.test('GET /api/hello/: an expired forged token (row 37)', async t => {
  await createUser(app)
  const expired = forge(accessClaims(clock, { exp: clock.seconds - 59, iat: clock.seconds - 359 }))
  assert401(t, await hello(`Bearer ${expired}`), INVALID)
  const atExp = forge(accessClaims(clock, { exp: clock.seconds }))
  assert401(t, await hello(`Bearer ${atExp}`), INVALID, 'exp == now')
  assertHello(t, await hello(`Bearer ${forge(accessClaims(clock, { exp: clock.seconds + 1 }))}`), undefined, 'exp == now + 1')
})

t.test('GET /api/hello/: a refresh token is the wrong type (row 35)', async t => {
  await createUser(app)
  const { refresh } = await obtainPair(app)
  assert401(t, await hello(`Bearer ${refresh}`), NOT_VALID('Token has wrong type'))
  const other = forge(accessClaims(clock, { token_type: 'sliding' }))
  assert401(t, await hello(`Bearer ${other}`), NOT_VALID('Token has wrong type'), 'token_type sliding')
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

t.test('GET /api/hello/: a token without user_id (row 45)', async t => {
  await createUser(app)
  const token = forge(without(accessClaims(clock), 'user_id'))
  assert401(t, await hello(`Bearer ${token}`), NO_USER)
})

t.test('GET /api/hello/: a token without token_type (row 46)', async t => {
  await createUser(app)
  const token = forge(without(accessClaims(clock), 'token_type'))
  assert401(t, await hello(`Bearer ${token}`), NOT_VALID('Token has no type'))
})

t.test('GET /api/hello/: a token without jti (row 47)', async t => {
  await createUser(app)
  const token = forge(without(accessClaims(clock), 'jti'))
  assert401(t, await hello(`Bearer ${token}`), NOT_VALID('Token has no id'))
  // exp is checked before jti, and jti before token_type, as simplejwt's Token.verify() does.
  const neither = forge(without(without(accessClaims(clock), 'jti'), 'token_type'))
  assert401(t, await hello(`Bearer ${neither}`), NOT_VALID('Token has no id'), 'no jti, no token_type')
})

t.test('GET /api/hello/: a token without exp', async t => {
  await createUser(app)
  const token = forge(without(accessClaims(clock), 'exp'))
  assert401(t, await hello(`Bearer ${token}`), NOT_VALID("Token has no 'exp' claim"))
  const bare = forge({ user_id: 1 })
  assert401(t, await hello(`Bearer ${bare}`), NOT_VALID("Token has no 'exp' claim"), 'only user_id')
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

t.test('GET /api/hello/: odd exp, iat and nbf values are invalid, not a fault (spec D5)', async t => {
  await createUser(app)
  const now = clock.seconds
  const odd: Record<string, Record<string, unknown>> = {
    'exp as a string': { exp: String(now + 300) },
    'exp 1e20': { exp: 1e20 },
    'exp past year 9999': { exp: 253402300800 },
    'exp null': { exp: null },
    'exp true': { exp: true },
    'exp [n]': { exp: [now + 300] },
    'iat as a string': { iat: String(now) },
    'iat 1e20': { iat: 1e20 },
    'nbf as a string': { nbf: String(now) },
    'nbf -1e20': { nbf: -1e20 }
  }
  for (const [label, claims] of Object.entries(odd)) {
    assert401(t, await hello(`Bearer ${forge(accessClaims(clock, claims))}`), INVALID, label)
  }
  // exp as a 1e20 literal that JSON.parse reads as a number.
  const rawPayload = JSON.stringify(accessClaims(clock)).replace(/"exp":\d+/, '"exp":1e20')
  assert401(t, await hello(`Bearer ${forge({}, { rawPayload })}`), INVALID, 'exp written 1e20')
  // The last second Python's datetime can hold is still a valid expiry.
  assertHello(t, await hello(`Bearer ${forge(accessClaims(clock, { exp: 253402300799 }))}`), undefined, 'exp 9999-12-31T23:59:59Z')
})

t.test('GET /api/hello/: iat or nbf in the future (PyJWT 2.6)', async t => {
  await createUser(app)
  const now = clock.seconds
  assert401(t, await hello(`Bearer ${forge(accessClaims(clock, { iat: now + 1 }))}`), INVALID, 'iat now + 1')
  assert401(t, await hello(`Bearer ${forge(accessClaims(clock, { iat: now + 3600 }))}`), INVALID, 'iat in an hour')
  assert401(t, await hello(`Bearer ${forge(accessClaims(clock, { nbf: now + 1 }))}`), INVALID, 'nbf now + 1')
  assertHello(t, await hello(`Bearer ${forge(accessClaims(clock, { nbf: now }))}`), undefined, 'nbf now')
  assertHello(t, await hello(`Bearer ${forge(accessClaims(clock, { iat: now - 10 }))}`), undefined, 'iat in the past')
  assertHello(t, await hello(`Bearer ${forge(without(accessClaims(clock), 'iat'))}`), undefined, 'no iat at all')
  // A token minted at a later clock becomes good once the clock gets there.
  clock.tick(60)
  const { access } = await obtainPair(app)
  clock.tick(-60)
  assert401(t, await hello(`Bearer ${access}`), INVALID, 'minted a minute ahead')
  clock.tick(60)
  assertHello(t, await hello(`Bearer ${access}`), undefined, 'once the clock caught up')
})

t.test('GET /api/hello/: JWT_LEEWAY widens exp, iat and nbf', async t => {
  await createUser(app)
  const now = clock.seconds
  const on = leewayApp
  const cases: Array<[string, Record<string, unknown>, boolean]> = [
    ['iat now + 30', { iat: now + 30 }, true],
    ['iat now + 31', { iat: now + 31 }, false],
    ['nbf now + 30', { nbf: now + 30 }, true],
    ['nbf now + 31', { nbf: now + 31 }, false],
    ['exp now - 29', { exp: now - 29, iat: now - 329 }, true],
    ['exp now - 30', { exp: now - 30, iat: now - 330 }, false]
  ]
  for (const [label, claims, accepted] of cases) {
    const res = await hello(`Bearer ${forge(accessClaims(clock, claims))}`, on)
    if (accepted) assertHello(t, res, undefined, label)
    else assert401(t, res, INVALID, label)
    // The app without leeway refuses all of them.
    assert401(t, await hello(`Bearer ${forge(accessClaims(clock, claims))}`), INVALID, `${label} without leeway`)
  }

  const { access } = await obtainPair(on)
  clock.tick(300 + 29)
  assertHello(t, await hello(`Bearer ${access}`, on), undefined, '29 s after exp')
  clock.tick(1)
  assert401(t, await hello(`Bearer ${access}`, on), INVALID, '30 s after exp')
})

t.test('GET /api/hello/: aud and iss are checked when JWT_AUDIENCE and JWT_ISSUER are set', async t => {
  await createUser(app)
  const { access } = await obtainPair(audApp)
  t.same(Object.keys(decodeParts(access).payload), ['token_type', 'exp', 'iat', 'jti', 'user_id', 'aud', 'iss'])
  assertHello(t, await hello(`Bearer ${access}`, audApp), undefined, 'minted by this app')

  const good = { aud: AUDIENCE, iss: ISSUER }
  const cases: Array<[string, Record<string, unknown>, boolean]> = [
    ['forged with both', good, true],
    ['aud among several', { ...good, aud: ['other', AUDIENCE] }, true],
    ['aud as a one-element list', { ...good, aud: [AUDIENCE] }, true],
    ['no aud', { iss: ISSUER }, false],
    ['another aud', { ...good, aud: 'other' }, false],
    ['aud differs in case', { ...good, aud: AUDIENCE.toUpperCase() }, false],
    ['aud list without ours', { ...good, aud: ['other'] }, false],
    ['empty aud list', { ...good, aud: [] }, false],
    ['aud list with a non-string', { ...good, aud: [AUDIENCE, 1] }, false],
    ['aud as a number', { ...good, aud: 1 }, false],
    ['no iss', { aud: AUDIENCE }, false],
    ['another iss', { ...good, iss: 'https://evil.test' }, false],
    ['iss as a list', { ...good, iss: [ISSUER] }, false]
  ]
  for (const [label, claims, accepted] of cases) {
    const res = await hello(`Bearer ${forge(accessClaims(clock, claims))}`, audApp)
    if (accepted) assertHello(t, res, undefined, label)
    else assert401(t, res, INVALID, label)
  }

  // A token of the app without audience lacks both claims.
  const plain = await obtainPair(app)
  assert401(t, await hello(`Bearer ${plain.access}`, audApp), INVALID, 'token without aud and iss')
  // Without the settings, aud and iss are not looked at.
  assertHello(t, await hello(`Bearer ${access}`), undefined, 'aud token on the app without audience')
  assertHello(t, await hello(`Bearer ${forge(accessClaims(clock, { aud: 'x', iss: 'y' }))}`), undefined, 'any aud and iss without the settings')
})

t.test('GET /api/hello/: AUTH_HEADER_TYPES with two schemes accepts both, exactly', async t => {
  await createUser(app)
  const { access } = await obtainPair(app)
  assertHello(t, await hello(`Bearer ${access}`, twoTypesApp), undefined, 'Bearer')
  assertHello(t, await hello(`JWT ${access}`, twoTypesApp), undefined, 'JWT')
  assertHello(t, await hello(`JWT\t${access}`, twoTypesApp), undefined, 'JWT and a tab')
  assert401(t, await hello(`jwt ${access}`, twoTypesApp), NOT_PROVIDED, 'jwt')
  assert401(t, await hello(`Token ${access}`, twoTypesApp), NOT_PROVIDED, 'Token')
  assert401(t, await hello('JWT', twoTypesApp), BAD_HEADER, 'JWT alone')
  assert401(t, await hello('JWT a b', twoTypesApp), BAD_HEADER, 'JWT a b')
  assert401(t, await hello('JWT garbage', twoTypesApp), INVALID, 'JWT garbage')
  assert401(t, await hello(undefined, twoTypesApp), NOT_PROVIDED, 'no header')
  // The default app knows Bearer only.
  assert401(t, await hello(`JWT ${access}`), NOT_PROVIDED, 'JWT on the default app')
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

t.test('GET /api/hello/: the odd user_id types are refused (spec D4, rows 49, 50)', async t => {
  await createUser(app)
  const base = accessClaims(clock)
  for (const userId of ['"1"', '" 1"', '1.0', '1.5', '1e0', '10e-1', 'true', 'null', '[1]', '{}', '"abc"', '""', '0', '-1', '-0', '1180591620717411303424', '9007199254740993']) {
    const rawPayload = JSON.stringify({ ...base, user_id: 0 }).replace('"user_id":0', `"user_id":${userId}`)
    assert401(t, await hello(`Bearer ${forge({}, { rawPayload })}`), NO_USER, `user_id ${userId}`)
  }
  // The last of duplicated members wins, as for JSON.parse.
  const duplicated = JSON.stringify(base).replace('"user_id":1', '"user_id":1,"user_id":1.0')
  assert401(t, await hello(`Bearer ${forge({}, { rawPayload: duplicated })}`), NO_USER, 'user_id 1 then 1.0')
  const fixed = JSON.stringify(base).replace('"user_id":1', '"user_id":"1","user_id":1')
  assertHello(t, await hello(`Bearer ${forge({}, { rawPayload: fixed })}`), undefined, 'user_id "1" then 1')
  assertHello(t, await hello(`Bearer ${forge(base)}`), undefined, 'user_id 1')
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
