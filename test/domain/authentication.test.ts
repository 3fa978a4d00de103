// Unit tests of src/domain/authentication.ts (simplejwt's JWTAuthentication): the Authorization header
// and token rules on a real token service, in-memory users and token statuses; no app, no database.
// The signature and format checks of the real verifier (@fastify/jwt) stay in test/routes/hello.test.ts.
import { createHmac, timingSafeEqual } from 'node:crypto'
import t from 'tap'
import { createAuthentication, type AuthenticatedUser, type AuthenticationSettings } from '../../src/domain/authentication.js'
import { ApiError, AuthenticationFailed, InvalidToken, NotAuthenticated } from '../../src/domain/errors.js'
import { createTokenService, type Claims, type Decoded, type TokenSettings } from '../../src/domain/tokens.js'
import { FakeTokenStatuses, FakeUserLookup, FakeUserStore } from '../helpers/fakes.js'

/** 2026-11-29T21:41:30Z, the moment the reference transcripts were recorded. */
const NOW_MS = Date.UTC(2026, 10, 29, 21, 41, 30)
const NOW = NOW_MS / 1000
const KEY = 'unit-test-key-0123456789abcdef-0123456789abcdef'
const AUDIENCE = 'conformance-audience'
const ISSUER = 'https://issuer.conformance.test'

type Settings = AuthenticationSettings & TokenSettings
const DEFAULTS: Settings = {
  ACCESS_TOKEN_LIFETIME: 300,
  REFRESH_TOKEN_LIFETIME: 86400,
  SLIDING_TOKEN_LIFETIME: 300,
  SLIDING_TOKEN_REFRESH_LIFETIME: 86400,
  JWT_LEEWAY: 0,
  USER_ID_CLAIM: 'user_id',
  TOKEN_TYPE_CLAIM: 'token_type',
  JTI_CLAIM: 'jti',
  AUTH_HEADER_TYPES: ['Bearer'],
  AUTH_TOKEN_CLASSES: ['access'],
  AUTH_STATELESS: false
}

const b64 = (value: string) => Buffer.from(value).toString('base64url')
const hmac = (input: string, key = KEY) => createHmac('sha256', key).update(input).digest('base64url')

/** An HS256 token over the payload text, exactly as given. */
function signText (payloadText: string, key = KEY): string {
  const input = `${b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64(payloadText)}`
  return `${input}.${hmac(input, key)}`
}

/** A strict HS256 verifier standing in for @fastify/jwt's: throws on any mismatch. */
function verify (token: string): Decoded {
  const [header, payload, signature] = token.split('.')
  const expected = Buffer.from(hmac(`${header}.${payload}`))
  const given = Buffer.from(signature)
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw new Error('signature')
  return { header: JSON.parse(Buffer.from(header, 'base64url').toString()), payload: JSON.parse(Buffer.from(payload, 'base64url').toString()) }
}

/** Signs arbitrary claims: for forged and odd tokens. */
const forge = (claims: Claims) => signText(JSON.stringify(claims))

/** The standard claims of a well-formed access token for user 1 at NOW. */
const access = (extra: Claims = {}): Claims => ({
  token_type: 'access', exp: NOW + 300, iat: NOW, jti: '31a331fde15a4134b6e47d195ebafdda', user_id: 1, ...extra
})

function without (claims: Claims, ...names: string[]): Claims {
  return Object.fromEntries(Object.entries(claims).filter(([name]) => !names.includes(name)))
}

/** An authenticator on a real token service, with spiderman (id 1) in a fake users store. */
async function setup (overrides: Partial<Settings> = {}) {
  const settings = { ...DEFAULTS, ...overrides }
  const clock = { ms: NOW_MS, tick (seconds: number) { this.ms += seconds * 1000 } }
  const tokens = createTokenService({ settings, sign: claims => signText(JSON.stringify(claims)), verify, now: () => clock.ms })
  const store = new FakeUserStore()
  await store.create({ username: 'spiderman', password: 'x', firstName: 'Peter', lastName: 'Parker', email: 'spiderman@example.com' })
  const users = new FakeUserLookup(store)
  const statuses = new FakeTokenStatuses()
  const authenticate = createAuthentication({ settings, tokens, tokenStatus: statuses, users })
  return { settings, clock, tokens, store, users, statuses, authenticate }
}

const NOT_VALID = (...messages: Array<{ token_class: string, token_type: string, message: string }>) => ({
  detail: 'Given token not valid for any token type', code: 'token_not_valid', messages
})
const ACCESS_MSG = (message: string) => ({ token_class: 'AccessToken', token_type: 'access', message })
const SLIDING_MSG = (message: string) => ({ token_class: 'SlidingToken', token_type: 'sliding', message })
const INVALID = NOT_VALID(ACCESS_MSG('Token is invalid or expired'))
const NOT_PROVIDED = { detail: 'Authentication credentials were not provided.' }
const BAD_HEADER = { detail: 'Authorization header must contain two space-delimited values', code: 'bad_authorization_header' }
const NO_USER = { detail: 'Token contained no recognizable user identification', code: 'token_not_valid' }
const USER_INACTIVE = { detail: 'User is inactive', code: 'user_inactive' }
const USER_NOT_FOUND = { detail: 'User not found', code: 'user_not_found' }

type Assert = Pick<typeof t, 'equal' | 'same' | 'strictSame' | 'type' | 'fail' | 'ok'>
type ErrorClass = typeof NotAuthenticated | typeof AuthenticationFailed | typeof InvalidToken

/** The attempt is refused with DRF's 401: this error class and exactly this body. */
async function refuses (t: Assert, attempt: Promise<unknown>, type: ErrorClass, body: Record<string, unknown>, label = '') {
  try {
    await attempt
  } catch (err) {
    t.type(err, type, `${label} ${type.name}`.trim())
    t.equal((err as ApiError).statusCode, 401, `${label} status 401`.trim())
    t.strictSame((err as ApiError).body, body, `${label} body`.trim())
    return
  }
  t.fail(`${label}: accepted`)
}

/** The attempt authenticates user `id`. */
async function accepts (t: Assert, attempt: Promise<AuthenticatedUser>, label = '', id = 1) {
  let user: AuthenticatedUser | undefined
  try {
    user = await attempt
  } catch (err) {
    t.fail(`${label}: refused with ${(err as Error).message}`)
    return
  }
  t.equal(user.id, id, `${label} user ${id}`.trim())
}

t.test('a valid access token: the user, with the token\'s claims (row 33)', async t => {
  const { tokens, authenticate } = await setup()
  const { access } = tokens.obtainPair(1)
  const user = await authenticate(`Bearer ${access}`)
  t.strictSame(user, {
    id: 1,
    username: 'spiderman',
    firstName: 'Peter',
    lastName: 'Parker',
    email: 'spiderman@example.com',
    isStaff: false,
    isSuperuser: false,
    claims: tokens.validate(access, 'access')
  })
})

t.test('the user is the one the token names', async t => {
  const { store, tokens, authenticate } = await setup()
  await store.create({ username: 'mj', password: 'x', firstName: 'Mary Jane', lastName: 'Watson' })
  const user = await authenticate(`Bearer ${tokens.obtainPair(2).access}`)
  t.same([user.id, user.firstName, user.lastName], [2, 'Mary Jane', 'Watson'])
  const forged = await authenticate(`Bearer ${forge(access({ user_id: 2 }))}`)
  t.same([forged.id, forged.firstName, forged.lastName], [2, 'Mary Jane', 'Watson'], 'forged')
})

t.test('no Authorization header is "not provided" (row 34)', async t => {
  const { authenticate } = await setup()
  await refuses(t, authenticate(undefined), NotAuthenticated, NOT_PROVIDED, 'no header')
  await refuses(t, authenticate(''), NotAuthenticated, NOT_PROVIDED, 'empty header')
  await refuses(t, authenticate('   '), NotAuthenticated, NOT_PROVIDED, 'only spaces')
})

t.test('another scheme is "not provided", even with a valid token (rows 38, 39)', async t => {
  const { tokens, authenticate } = await setup()
  const { access } = tokens.obtainPair(1)
  await refuses(t, authenticate('Basic c3BpZGVybWFuOnVuZGVyb29z'), NotAuthenticated, NOT_PROVIDED, 'Basic')
  // The scheme is case-sensitive in simplejwt.
  for (const scheme of ['bearer', 'BEARER', 'JWT', 'Token', 'Bearer:', 'Bearerx']) {
    await refuses(t, authenticate(`${scheme} ${access}`), NotAuthenticated, NOT_PROVIDED, scheme)
  }
  // A token alone, without any scheme, is one part that is not a scheme.
  await refuses(t, authenticate(access), NotAuthenticated, NOT_PROVIDED, 'token alone')
  // bytes.split() splits on ASCII whitespace only: a no-break space joins scheme and token.
  await refuses(t, authenticate(`Bearer\u00a0${access}`), NotAuthenticated, NOT_PROVIDED, 'no-break space')
})

t.test('the header is split on any run of ASCII whitespace (row 40)', async t => {
  const { tokens, authenticate } = await setup()
  const { access } = tokens.obtainPair(1)
  await accepts(t, authenticate(`Bearer ${access}`), 'one space')
  await accepts(t, authenticate(`Bearer  ${access}`), 'two spaces')
  await accepts(t, authenticate(`Bearer\t${access}`), 'tab')
  await accepts(t, authenticate(`Bearer \t ${access}`), 'space, tab, space')
  await accepts(t, authenticate(`Bearer ${access} `), 'trailing space')
  await accepts(t, authenticate(` Bearer ${access}`), 'leading space')
  // bytes.split() also splits on vertical tab, form feed, line feed and carriage return.
  await accepts(t, authenticate(`Bearer\v${access}`), 'vertical tab')
  await accepts(t, authenticate(`Bearer\f${access}`), 'form feed')
  await accepts(t, authenticate(`Bearer\n${access}`), 'line feed')
  await accepts(t, authenticate(`Bearer\r${access}`), 'carriage return')
})

t.test('"Bearer" alone or with more than one value is a bad header (rows 41, 42)', async t => {
  const { tokens, authenticate } = await setup()
  const { access } = tokens.obtainPair(1)
  await refuses(t, authenticate('Bearer'), AuthenticationFailed, BAD_HEADER, 'Bearer alone')
  await refuses(t, authenticate('Bearer   '), AuthenticationFailed, BAD_HEADER, 'Bearer and spaces')
  await refuses(t, authenticate('Bearer a b'), AuthenticationFailed, BAD_HEADER, 'Bearer a b')
  await refuses(t, authenticate(`Bearer ${access} ${access}`), AuthenticationFailed, BAD_HEADER, 'two valid tokens')
  await refuses(t, authenticate(`Bearer ${access} x`), AuthenticationFailed, BAD_HEADER, 'a valid token and more')
})

t.test('AUTH_HEADER_TYPES with two schemes accepts both, exactly', async t => {
  for (const types of [['Bearer', 'JWT'], ['JWT', 'Bearer']]) {
    const { tokens, authenticate } = await setup({ AUTH_HEADER_TYPES: types })
    const { access } = tokens.obtainPair(1)
    const label = types.join(',')
    await accepts(t, authenticate(`Bearer ${access}`), `${label}: Bearer`)
    await accepts(t, authenticate(`JWT ${access}`), `${label}: JWT`)
    await accepts(t, authenticate(`JWT\t${access}`), `${label}: JWT and a tab`)
    await refuses(t, authenticate(`jwt ${access}`), NotAuthenticated, NOT_PROVIDED, `${label}: jwt`)
    await refuses(t, authenticate(`Token ${access}`), NotAuthenticated, NOT_PROVIDED, `${label}: Token`)
    await refuses(t, authenticate('JWT'), AuthenticationFailed, BAD_HEADER, `${label}: JWT alone`)
    await refuses(t, authenticate('JWT a b'), AuthenticationFailed, BAD_HEADER, `${label}: JWT a b`)
    await refuses(t, authenticate('JWT garbage'), InvalidToken, INVALID, `${label}: JWT garbage`)
    await refuses(t, authenticate(undefined), NotAuthenticated, NOT_PROVIDED, `${label}: no header`)
  }
  // The default knows Bearer only.
  const { tokens, authenticate } = await setup()
  await refuses(t, authenticate(`JWT ${tokens.obtainPair(1).access}`), NotAuthenticated, NOT_PROVIDED, 'JWT by default')
})

t.test('a garbage token (row 36)', async t => {
  const { authenticate } = await setup()
  for (const token of ['garbage', 'a.b.c', 'a.b', 'a.b.c.d', '..', '.', 'eyJ.eyJ.', '€']) {
    await refuses(t, authenticate(`Bearer ${token}`), InvalidToken, INVALID, JSON.stringify(token))
  }
  // Far beyond any token we mint (row 63's 100 KB header): refused without being parsed.
  await refuses(t, authenticate(`Bearer ${'a'.repeat(102407)}`), InvalidToken, INVALID, '100 KB token')
})

t.test('an expired token, by moving the clock (row 37)', async t => {
  const { clock, tokens, authenticate } = await setup()
  const { access } = tokens.obtainPair(1)
  clock.tick(299)
  await accepts(t, authenticate(`Bearer ${access}`), 'one second before exp')
  clock.tick(1)
  await refuses(t, authenticate(`Bearer ${access}`), InvalidToken, INVALID, 'at exp')
  clock.tick(3600)
  await refuses(t, authenticate(`Bearer ${access}`), InvalidToken, INVALID, 'an hour later')
})

t.test('an expired forged token (row 37)', async t => {
  const { authenticate } = await setup()
  await refuses(t, authenticate(`Bearer ${forge(access({ exp: NOW - 59, iat: NOW - 359 }))}`), InvalidToken, INVALID, 'a minute ago')
  await refuses(t, authenticate(`Bearer ${forge(access({ exp: NOW }))}`), InvalidToken, INVALID, 'exp == now')
  await accepts(t, authenticate(`Bearer ${forge(access({ exp: NOW + 1 }))}`), 'exp == now + 1')
})

t.test('a refresh token, or another token_type, is the wrong type (row 35)', async t => {
  const { tokens, authenticate } = await setup()
  const { refresh } = tokens.obtainPair(1)
  await refuses(t, authenticate(`Bearer ${refresh}`), InvalidToken, NOT_VALID(ACCESS_MSG('Token has wrong type')), 'refresh')
  await refuses(t, authenticate(`Bearer ${forge(access({ token_type: 'sliding' }))}`), InvalidToken, NOT_VALID(ACCESS_MSG('Token has wrong type')), 'token_type sliding')
})

t.test('missing claims: user_id, token_type, jti, exp (rows 45-47)', async t => {
  const { authenticate } = await setup()
  await refuses(t, authenticate(`Bearer ${forge(without(access(), 'user_id'))}`), InvalidToken, NO_USER, 'no user_id')
  await refuses(t, authenticate(`Bearer ${forge(without(access(), 'token_type'))}`), InvalidToken, NOT_VALID(ACCESS_MSG('Token has no type')), 'no token_type')
  await refuses(t, authenticate(`Bearer ${forge(without(access(), 'jti'))}`), InvalidToken, NOT_VALID(ACCESS_MSG('Token has no id')), 'no jti')
  // exp is checked before jti, and jti before token_type, as simplejwt's Token.verify() does.
  await refuses(t, authenticate(`Bearer ${forge(without(access(), 'jti', 'token_type'))}`), InvalidToken, NOT_VALID(ACCESS_MSG('Token has no id')), 'no jti, no token_type')
  await refuses(t, authenticate(`Bearer ${forge(without(access(), 'exp'))}`), InvalidToken, NOT_VALID(ACCESS_MSG("Token has no 'exp' claim")), 'no exp')
  await refuses(t, authenticate(`Bearer ${forge({ user_id: 1 })}`), InvalidToken, NOT_VALID(ACCESS_MSG("Token has no 'exp' claim")), 'only user_id')
})

t.test('the odd user_id types are refused (spec D4, rows 49, 50)', async t => {
  const { authenticate } = await setup()
  const base = access()
  for (const userId of ['"1"', '" 1"', '1.0', '1.5', '1e0', '10e-1', 'true', 'null', '[1]', '{}', '"abc"', '""', '0', '-1', '-0', '1180591620717411303424', '9007199254740993']) {
    const rawPayload = JSON.stringify({ ...base, user_id: 0 }).replace('"user_id":0', `"user_id":${userId}`)
    await refuses(t, authenticate(`Bearer ${signText(rawPayload)}`), InvalidToken, NO_USER, `user_id ${userId}`)
  }
  // The last of duplicated members wins, as for JSON.parse.
  const duplicated = JSON.stringify(base).replace('"user_id":1', '"user_id":1,"user_id":1.0')
  await refuses(t, authenticate(`Bearer ${signText(duplicated)}`), InvalidToken, NO_USER, 'user_id 1 then 1.0')
  const fixed = JSON.stringify(base).replace('"user_id":1', '"user_id":"1","user_id":1')
  await accepts(t, authenticate(`Bearer ${signText(fixed)}`), 'user_id "1" then 1')
  await accepts(t, authenticate(`Bearer ${forge(base)}`), 'user_id 1')
})

t.test('odd exp, iat and nbf values are invalid, not a fault (spec D5)', async t => {
  const { authenticate } = await setup()
  const odd: Record<string, Claims> = {
    'exp as a string': { exp: String(NOW + 300) },
    'exp 1e20': { exp: 1e20 },
    'exp past year 9999': { exp: 253402300800 },
    'exp null': { exp: null },
    'exp true': { exp: true },
    'exp [n]': { exp: [NOW + 300] },
    'iat as a string': { iat: String(NOW) },
    'iat 1e20': { iat: 1e20 },
    'nbf as a string': { nbf: String(NOW) },
    'nbf -1e20': { nbf: -1e20 }
  }
  for (const [label, claims] of Object.entries(odd)) {
    await refuses(t, authenticate(`Bearer ${forge(access(claims))}`), InvalidToken, INVALID, label)
  }
  // exp as a 1e20 literal that JSON.parse reads as a number.
  const rawPayload = JSON.stringify(access()).replace(/"exp":\d+/, '"exp":1e20')
  await refuses(t, authenticate(`Bearer ${signText(rawPayload)}`), InvalidToken, INVALID, 'exp written 1e20')
  // The last second Python's datetime can hold is still a valid expiry.
  await accepts(t, authenticate(`Bearer ${forge(access({ exp: 253402300799 }))}`), 'exp 9999-12-31T23:59:59Z')
})

t.test('iat or nbf in the future (PyJWT 2.6)', async t => {
  const { clock, tokens, authenticate } = await setup()
  await refuses(t, authenticate(`Bearer ${forge(access({ iat: NOW + 1 }))}`), InvalidToken, INVALID, 'iat now + 1')
  await refuses(t, authenticate(`Bearer ${forge(access({ iat: NOW + 3600 }))}`), InvalidToken, INVALID, 'iat in an hour')
  await refuses(t, authenticate(`Bearer ${forge(access({ nbf: NOW + 1 }))}`), InvalidToken, INVALID, 'nbf now + 1')
  await accepts(t, authenticate(`Bearer ${forge(access({ nbf: NOW }))}`), 'nbf now')
  await accepts(t, authenticate(`Bearer ${forge(access({ iat: NOW - 10 }))}`), 'iat in the past')
  await accepts(t, authenticate(`Bearer ${forge(without(access(), 'iat'))}`), 'no iat at all')
  // A token minted at a later clock becomes good once the clock gets there.
  clock.tick(60)
  const { access: ahead } = tokens.obtainPair(1)
  clock.tick(-60)
  await refuses(t, authenticate(`Bearer ${ahead}`), InvalidToken, INVALID, 'minted a minute ahead')
  clock.tick(60)
  await accepts(t, authenticate(`Bearer ${ahead}`), 'once the clock caught up')
})

t.test('JWT_LEEWAY widens exp, iat and nbf', async t => {
  const strict = await setup()
  const lenient = await setup({ JWT_LEEWAY: 30 })
  const cases: Array<[string, Claims, boolean]> = [
    ['iat now + 30', { iat: NOW + 30 }, true],
    ['iat now + 31', { iat: NOW + 31 }, false],
    ['nbf now + 30', { nbf: NOW + 30 }, true],
    ['nbf now + 31', { nbf: NOW + 31 }, false],
    ['exp now - 29', { exp: NOW - 29, iat: NOW - 329 }, true],
    ['exp now - 30', { exp: NOW - 30, iat: NOW - 330 }, false]
  ]
  for (const [label, claims, accepted] of cases) {
    const attempt = lenient.authenticate(`Bearer ${forge(access(claims))}`)
    if (accepted) await accepts(t, attempt, label)
    else await refuses(t, attempt, InvalidToken, INVALID, label)
    // Without leeway, all of them are refused.
    await refuses(t, strict.authenticate(`Bearer ${forge(access(claims))}`), InvalidToken, INVALID, `${label} without leeway`)
  }

  const { access: token } = lenient.tokens.obtainPair(1)
  lenient.clock.tick(300 + 29)
  await accepts(t, lenient.authenticate(`Bearer ${token}`), '29 s after exp')
  lenient.clock.tick(1)
  await refuses(t, lenient.authenticate(`Bearer ${token}`), InvalidToken, INVALID, '30 s after exp')
})

t.test('aud and iss are checked when JWT_AUDIENCE and JWT_ISSUER are set', async t => {
  const plain = await setup()
  const { tokens, authenticate } = await setup({ JWT_AUDIENCE: AUDIENCE, JWT_ISSUER: ISSUER })
  const { access: minted } = tokens.obtainPair(1)
  t.same(Object.keys(verify(minted).payload), ['token_type', 'exp', 'iat', 'jti', 'user_id', 'aud', 'iss'])
  await accepts(t, authenticate(`Bearer ${minted}`), 'minted with the settings')

  const good = { aud: AUDIENCE, iss: ISSUER }
  const cases: Array<[string, Claims, boolean]> = [
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
    const attempt = authenticate(`Bearer ${forge(access(claims))}`)
    if (accepted) await accepts(t, attempt, label)
    else await refuses(t, attempt, InvalidToken, INVALID, label)
  }

  // A token minted without the settings lacks both claims.
  await refuses(t, authenticate(`Bearer ${plain.tokens.obtainPair(1).access}`), InvalidToken, INVALID, 'token without aud and iss')
  // Without the settings, aud and iss are not looked at.
  await accepts(t, plain.authenticate(`Bearer ${minted}`), 'aud token without the settings')
  await accepts(t, plain.authenticate(`Bearer ${forge(access({ aud: 'x', iss: 'y' }))}`), 'any aud and iss without the settings')
})

t.test('a user that is missing or inactive (rows 43, 44)', async t => {
  const { store, tokens, authenticate } = await setup()
  const ghost = await store.create({ username: 'ghost', password: 'boo', isActive: false })
  t.equal(ghost.id, 2)
  await refuses(t, authenticate(`Bearer ${forge(access({ user_id: ghost.id, jti: 'e7d01ecede9c33d73b163d752e81d473' }))}`), AuthenticationFailed, USER_INACTIVE, 'inactive')
  await refuses(t, authenticate(`Bearer ${forge(access({ user_id: 987654321, jti: '5dba6452134e832b8fad5ae206707b8e' }))}`), AuthenticationFailed, USER_NOT_FOUND, 'no such id')
  await refuses(t, authenticate(`Bearer ${forge(access({ user_id: 2 ** 53 - 1 }))}`), AuthenticationFailed, USER_NOT_FOUND, '2^53 - 1')

  // A token minted before its user was deactivated.
  const { access: minted } = tokens.obtainPair(1)
  await accepts(t, authenticate(`Bearer ${minted}`), 'while active')
  await store.updateById(1, { isActive: false })
  await refuses(t, authenticate(`Bearer ${minted}`), AuthenticationFailed, USER_INACTIVE, 'after deactivation')
})

t.test('the user\'s cut-off ends tokens issued in its second or before, for each token class', async t => {
  for (const [type, message] of [['access', ACCESS_MSG], ['sliding', SLIDING_MSG]] as const) {
    const { clock, store, tokens, authenticate } = await setup({ AUTH_TOKEN_CLASSES: [type] })
    const token = type === 'access' ? tokens.obtainPair(1).access : tokens.obtainSliding(1).token
    // Issued in the cut-off's own second: refused, since it may have been minted before the revocation.
    await store.updateById(1, { tokensValidAfter: new Date(clock.ms + 999) })
    await refuses(t, authenticate(`Bearer ${token}`), InvalidToken, NOT_VALID(message('Token is blacklisted')), `${type}: same second`)
    await store.updateById(1, { tokensValidAfter: new Date(clock.ms - 1000) })
    await accepts(t, authenticate(`Bearer ${token}`), `${type}: issued the second after`)
    clock.tick(1)
    await store.updateById(1, { tokensValidAfter: new Date(clock.ms) })
    await refuses(t, authenticate(`Bearer ${token}`), InvalidToken, NOT_VALID(message('Token is blacklisted')), `${type}: issued before`)
    clock.tick(1)
    // A token without iat counts as issued before any cut-off.
    const noIat = forge(without({ ...access(), token_type: type }, 'iat'))
    await refuses(t, authenticate(`Bearer ${noIat}`), InvalidToken, NOT_VALID(message('Token is blacklisted')), `${type}: no iat`)
    const fresh = type === 'access' ? tokens.obtainPair(1).access : tokens.obtainSliding(1).token
    await accepts(t, authenticate(`Bearer ${fresh}`), `${type}: issued after`)
  }
})

t.test('AUTH_TOKEN_CLASSES: the classes tried, in order, with one message per class', async t => {
  const access = await setup()
  const sliding = await setup({ AUTH_TOKEN_CLASSES: ['sliding'] })
  const both = await setup({ AUTH_TOKEN_CLASSES: ['access', 'sliding'] })
  const slidingToken = both.tokens.obtainSliding(1).token
  const accessToken = both.tokens.obtainPair(1).access

  await accepts(t, access.authenticate(`Bearer ${accessToken}`), 'access: access')
  await refuses(t, access.authenticate(`Bearer ${slidingToken}`), InvalidToken, NOT_VALID(ACCESS_MSG('Token has wrong type')), 'access: sliding')
  const user = await sliding.authenticate(`Bearer ${slidingToken}`)
  t.same([user.id, user.firstName, user.lastName], [1, 'Peter', 'Parker'], 'sliding: sliding')
  await refuses(t, sliding.authenticate(`Bearer ${accessToken}`), InvalidToken, NOT_VALID(SLIDING_MSG('Token has wrong type')), 'sliding: access')
  await accepts(t, both.authenticate(`Bearer ${accessToken}`), 'both: access')
  await accepts(t, both.authenticate(`Bearer ${slidingToken}`), 'both: sliding')
  // The sliding class is asked for its blacklist status; access tokens are not.
  t.same(both.statuses.asked, [verify(slidingToken).payload.jti], 'one status lookup, for the sliding token')
  both.clock.tick(300)
  await refuses(t, both.authenticate(`Bearer ${slidingToken}`), InvalidToken,
    NOT_VALID(ACCESS_MSG('Token is invalid or expired'), SLIDING_MSG('Token is invalid or expired')), 'both: expired')
  await refuses(t, both.authenticate(`Bearer ${both.tokens.obtainPair(1).refresh}`), InvalidToken,
    NOT_VALID(ACCESS_MSG('Token has wrong type'), SLIDING_MSG('Token has wrong type')), 'both: refresh')
})

t.test('a blacklisted or family-revoked sliding token is refused (BlacklistMixin)', async t => {
  const { statuses, tokens, authenticate } = await setup({ AUTH_TOKEN_CLASSES: ['access', 'sliding'] })
  const { token, claims } = tokens.obtainSliding(1)
  const jti = claims.jti as string
  await accepts(t, authenticate(`Bearer ${token}`), 'not blacklisted')
  statuses.rows.set(jti, { blacklisted: { jti, reason: 'logout', blacklistedAt: new Date(0), ip: null, userAgent: null }, familyRevoked: false })
  await refuses(t, authenticate(`Bearer ${token}`), InvalidToken,
    NOT_VALID(ACCESS_MSG('Token has wrong type'), SLIDING_MSG('Token is blacklisted')), 'blacklisted')
  statuses.rows.set(jti, { familyRevoked: true })
  await refuses(t, authenticate(`Bearer ${token}`), InvalidToken,
    NOT_VALID(ACCESS_MSG('Token has wrong type'), SLIDING_MSG('Token is blacklisted')), 'family revoked')
  // A fault of the lookup is no token error: it goes up as it is (a 503 in the service, not a 401).
  const failing = createAuthentication({
    settings: { ...DEFAULTS, AUTH_TOKEN_CLASSES: ['sliding'] },
    tokens,
    tokenStatus: { status: async () => { throw new Error('database down') } },
    users: { get: async () => undefined }
  })
  await t.rejects(failing(`Bearer ${token}`), { message: 'database down' })
})

t.test('AUTH_STATELESS: the user is the token\'s claims (TokenUser), with no lookup', async t => {
  const { store, users, authenticate } = await setup({ AUTH_STATELESS: true })
  const claims = access({ username: 'spidey', first_name: 'Peter', last_name: 'Parker', email: 'p@example.com' })
  t.strictSame(await authenticate(`Bearer ${forge(claims)}`), {
    id: 1, username: 'spidey', firstName: 'Peter', lastName: 'Parker', email: 'p@example.com', isStaff: false, isSuperuser: false, claims, stateless: true
  }, 'names from the claims')
  // Claims that are absent or not strings become empty; staff and superuser are always false.
  const bare = access({ user_id: 42, username: 7, is_staff: true })
  t.strictSame(await authenticate(`Bearer ${forge(bare)}`), {
    id: 42, username: '', firstName: '', lastName: '', email: '', isStaff: false, isSuperuser: false, claims: bare, stateless: true
  }, 'a user that does not exist, with odd claims')
  // No active or cut-off check: a revoked access token works until it expires.
  await store.updateById(1, { isActive: false, tokensValidAfter: new Date(NOW_MS + 60_000) })
  await accepts(t, authenticate(`Bearer ${forge(access())}`), 'inactive and cut off')
  t.equal(users.lookups, 0, 'no user lookup')
  // The token rules still hold.
  await refuses(t, authenticate(`Bearer ${forge(without(access(), 'user_id'))}`), InvalidToken, NO_USER, 'no user_id')
  await refuses(t, authenticate(`Bearer ${forge(access({ exp: NOW }))}`), InvalidToken, INVALID, 'expired')
  await refuses(t, authenticate(undefined), NotAuthenticated, NOT_PROVIDED, 'no header')
})
