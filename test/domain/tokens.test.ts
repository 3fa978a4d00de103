// Unit tests of src/domain/tokens.ts: no Fastify, no database; HMAC signing is done here with node:crypto.
import { createHmac, timingSafeEqual } from 'node:crypto'
import t from 'tap'
import { TOKEN_MESSAGES, TokenError } from '../../src/domain/errors.js'
import {
  accessClaimsFromRefresh, checkClaims, createTokenService, isCompactJws, isCutOff, MAX_TOKEN_LENGTH,
  newClaims, newJti, rawMemberValue, userIdOf, type Claims, type Decoded, type TokenSettings
} from '../../src/domain/tokens.js'

/** 2026-11-29T21:41:30Z, the moment the reference transcripts were recorded. */
const NOW_MS = Date.UTC(2026, 10, 29, 21, 41, 30)
const NOW = NOW_MS / 1000
const KEY = 'unit-test-key-0123456789abcdef-0123456789abcdef'
const JTI = /^[0-9a-f]{32}$/

const DEFAULTS: TokenSettings = {
  ACCESS_TOKEN_LIFETIME: 300,
  REFRESH_TOKEN_LIFETIME: 86400,
  JWT_LEEWAY: 0,
  USER_ID_CLAIM: 'user_id',
  TOKEN_TYPE_CLAIM: 'token_type',
  JTI_CLAIM: 'jti'
}
const settings = (overrides: Partial<TokenSettings> = {}): TokenSettings => ({ ...DEFAULTS, ...overrides })

type Assert = Pick<typeof t, 'equal' | 'type' | 'fail'>

const b64 = (value: string) => Buffer.from(value).toString('base64url')
const hmac = (input: string, key = KEY) => createHmac('sha256', key).update(input).digest('base64url')

/** An HS256 token over the payload text, exactly as given. */
function signText (payloadText: string, header: Claims = { alg: 'HS256', typ: 'JWT' }, key = KEY): string {
  const input = `${b64(JSON.stringify(header))}.${b64(payloadText)}`
  return `${input}.${hmac(input, key)}`
}

const sign = (claims: Claims, header?: Claims) => signText(JSON.stringify(claims), header)

/** A strict HS256 verifier standing in for @fastify/jwt's: throws on any mismatch. */
function verify (token: string): Decoded {
  const [header, payload, signature] = token.split('.')
  const decodedHeader = JSON.parse(Buffer.from(header, 'base64url').toString()) as Claims
  if (decodedHeader.alg !== 'HS256') throw new Error('algorithm')
  const expected = Buffer.from(hmac(`${header}.${payload}`))
  const given = Buffer.from(signature)
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw new Error('signature')
  return { header: decodedHeader, payload: JSON.parse(Buffer.from(payload, 'base64url').toString()) }
}

function payloadText (token: string): string {
  return Buffer.from(token.split('.')[1], 'base64url').toString()
}

/** Asserts that fn throws a TokenError with exactly this message. */
function throwsToken (t: Assert, fn: () => unknown, message: string, label = message): void {
  try {
    fn()
  } catch (err) {
    t.type(err, TokenError, `${label}: a TokenError`)
    t.equal((err as Error).message, message, label)
    return
  }
  t.fail(`${label}: nothing was thrown`)
}

/** A well-formed access payload at NOW. */
const access = (extra: Claims = {}): Claims => ({
  token_type: 'access', exp: NOW + 300, iat: NOW, jti: '31a331fde15a4134b6e47d195ebafdda', user_id: 1, ...extra
})

function without (claims: Claims, ...names: string[]): Claims {
  return Object.fromEntries(Object.entries(claims).filter(([name]) => !names.includes(name)))
}

t.test('TOKEN_MESSAGES: simplejwt\'s wording, verbatim', async t => {
  t.same(TOKEN_MESSAGES, {
    invalid: 'Token is invalid or expired',
    noExp: "Token has no 'exp' claim",
    noId: 'Token has no id',
    noType: 'Token has no type',
    wrongType: 'Token has wrong type',
    blacklisted: 'Token is blacklisted',
    noUser: 'Token contained no recognizable user identification'
  })
})

t.test('newJti: uuid4().hex, 32 lowercase hex characters, distinct every time', async t => {
  const jtis = Array.from({ length: 1000 }, () => newJti())
  t.ok(jtis.every(jti => JTI.test(jti)), 'every jti is 32 lowercase hex characters')
  t.equal(new Set(jtis).size, jtis.length, 'no two alike')
  // The version and variant nibbles of a UUID version 4.
  t.ok(jtis.every(jti => jti[12] === '4'), 'version 4')
  t.ok(jtis.every(jti => '89ab'.includes(jti[16])), 'RFC 4122 variant')
})

t.test('isCompactJws: three canonical base64url segments, nothing else (spec D3)', async t => {
  const token = sign(access())
  const [header, payload, signature] = token.split('.')
  t.equal(isCompactJws(token), true, 'a signed token')
  t.equal(isCompactJws('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.AA'), true, 'minimal segments')

  const refused: Record<string, string> = {
    'empty string': '',
    'one segment': header,
    'two segments': `${header}.${payload}`,
    'four segments': `${token}.${signature}`,
    'empty signature (alg none)': `${header}.${payload}.`,
    'empty payload': `${header}..${signature}`,
    'empty header': `.${payload}.${signature}`,
    'only dots': '..',
    '= appended': `${token}=`,
    '== appended': `${token}==`,
    '= inside the signature': `${header}.${payload}.${signature.slice(0, 10)}=${signature.slice(10)}`,
    'padded header': `${header}=.${payload}.${signature}`,
    '!!!! appended': `${token}!!!!`,
    '**** appended': `${token}****`,
    'a space': `${header}.${payload}. ${signature}`,
    'a trailing newline': `${token}\n`,
    'standard base64 +': `${header}.${payload}.${signature.slice(0, 10)}+${signature.slice(11)}`,
    'standard base64 /': `${header}.${payload}.${signature.slice(0, 10)}/${signature.slice(11)}`,
    'a non-ASCII letter': `${header}.${payload}.${signature.slice(0, 10)}é${signature.slice(11)}`,
    'a segment of one character': `${header}.${payload}.A`,
    'a segment of 4n + 1 characters': `${header}.${payload}.AAAAA`
  }
  for (const [label, value] of Object.entries(refused)) t.equal(isCompactJws(value), false, label)

  // Canonical encodings leave the unused low bits of the last character zero; any other spelling is refused.
  t.equal(isCompactJws(`${header}.${payload}.AA`), true, 'AA is one zero byte')
  t.equal(isCompactJws(`${header}.${payload}.AB`), false, 'AB: the same byte with a trailing bit set')
  t.equal(isCompactJws(`${header}.${payload}.AAA`), true, 'AAA is two zero bytes')
  t.equal(isCompactJws(`${header}.${payload}.AAB`), false, 'AAB: the same bytes with a trailing bit set')
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const last = alphabet.indexOf(signature.at(-1) as string)
  t.equal(last % 4, 0, 'a 32-byte signature ends in a character whose two low bits are zero')
  for (const bits of [1, 2, 3]) {
    const variant = `${header}.${payload}.${signature.slice(0, -1)}${alphabet[last + bits]}`
    t.same(Buffer.from(variant.split('.')[2], 'base64url'), Buffer.from(signature, 'base64url'), `trailing bits ${bits}: the same bytes`)
    t.equal(isCompactJws(variant), false, `trailing bits ${bits}: refused`)
  }
})

t.test('isCompactJws: nothing longer than MAX_TOKEN_LENGTH is looked at', async t => {
  t.equal(MAX_TOKEN_LENGTH, 8192)
  const ofLength = (length: number) => `AAAA.${'A'.repeat(length - 10)}.AAAA`
  t.equal(ofLength(MAX_TOKEN_LENGTH).length, MAX_TOKEN_LENGTH)
  t.equal(isCompactJws(ofLength(MAX_TOKEN_LENGTH)), true, 'exactly MAX_TOKEN_LENGTH')
  t.equal(isCompactJws(ofLength(MAX_TOKEN_LENGTH + 1)), false, 'one character more')
  t.equal(isCompactJws(ofLength(100_000)), false, '100 000 characters')
})

t.test('newClaims: simplejwt\'s claims, in its order, with its lifetimes', async t => {
  const refresh = newClaims('refresh', 1, NOW_MS, settings())
  t.same(Object.keys(refresh), ['token_type', 'exp', 'iat', 'jti', 'user_id'], 'refresh claim order')
  t.same(refresh, { token_type: 'refresh', exp: NOW + 86400, iat: NOW, jti: refresh.jti, user_id: 1 })
  t.match(refresh.jti, JTI)

  const accessClaims = newClaims('access', 42, NOW_MS, settings())
  t.same(Object.keys(accessClaims), ['token_type', 'exp', 'iat', 'jti', 'user_id'], 'access claim order')
  t.equal(accessClaims.token_type, 'access')
  t.equal((accessClaims.exp as number) - (accessClaims.iat as number), 300, 'exp - iat = ACCESS_TOKEN_LIFETIME')
  t.equal(accessClaims.user_id, 42)
  t.not(accessClaims.jti, refresh.jti, 'a jti of its own')
  t.equal(JSON.stringify(accessClaims), `{"token_type":"access","exp":${NOW + 300},"iat":${NOW},"jti":"${accessClaims.jti as string}","user_id":42}`, 'the exact payload text')

  // Whole seconds, rounded down, as Python's timegm of a utctimetuple.
  const late = newClaims('access', 1, NOW_MS + 999, settings())
  t.equal(late.iat, NOW, 'milliseconds are dropped')
  t.equal(late.exp, NOW + 300)

  const short = newClaims('refresh', 1, NOW_MS, settings({ REFRESH_TOKEN_LIFETIME: 6, ACCESS_TOKEN_LIFETIME: 3 }))
  t.equal((short.exp as number) - (short.iat as number), 6, 'REFRESH_TOKEN_LIFETIME is honoured')
  t.equal((newClaims('access', 1, NOW_MS, settings({ ACCESS_TOKEN_LIFETIME: 3 })).exp as number) - NOW, 3, 'ACCESS_TOKEN_LIFETIME is honoured')
})

t.test('newClaims: aud and iss come last, and only when set', async t => {
  const both = newClaims('access', 1, NOW_MS, settings({ JWT_AUDIENCE: 'conformance-audience', JWT_ISSUER: 'https://issuer.conformance.test' }))
  t.same(Object.keys(both), ['token_type', 'exp', 'iat', 'jti', 'user_id', 'aud', 'iss'])
  t.equal(both.aud, 'conformance-audience')
  t.equal(both.iss, 'https://issuer.conformance.test')
  t.same(Object.keys(newClaims('access', 1, NOW_MS, settings({ JWT_ISSUER: 'i' }))), ['token_type', 'exp', 'iat', 'jti', 'user_id', 'iss'], 'issuer only')
  t.same(Object.keys(newClaims('access', 1, NOW_MS, settings({ JWT_AUDIENCE: 'a' }))), ['token_type', 'exp', 'iat', 'jti', 'user_id', 'aud'], 'audience only')
})

t.test('newClaims: the claim names come from the settings', async t => {
  const custom = settings({ TOKEN_TYPE_CLAIM: 'kind', JTI_CLAIM: 'id', USER_ID_CLAIM: 'uid' })
  const claims = newClaims('refresh', 7, NOW_MS, custom)
  t.same(Object.keys(claims), ['kind', 'exp', 'iat', 'id', 'uid'])
  t.equal(claims.kind, 'refresh')
  t.match(claims.id, JTI)
  t.equal(claims.uid, 7)
})

t.test('accessClaimsFromRefresh: new type, exp and jti; iat and every other claim copied', async t => {
  const refresh: Claims = {
    token_type: 'refresh', exp: NOW + 86400, iat: NOW, jti: '2bfe08b67fb8422ca876bb39419d18fb', user_id: 1, scope: ['read'], name: 'Peter'
  }
  const later = NOW_MS + 2000
  const claims = accessClaimsFromRefresh(refresh, later, settings())
  t.same(Object.keys(claims), ['token_type', 'exp', 'iat', 'jti', 'user_id', 'scope', 'name'], 'claim order')
  t.equal(claims.token_type, 'access')
  t.equal(claims.exp, NOW + 2 + 300, 'exp = now + access lifetime')
  t.equal(claims.iat, NOW, 'iat is the refresh token\'s (row G: exp - iat = 302)')
  t.equal((claims.exp as number) - (claims.iat as number), 302)
  t.match(claims.jti, JTI)
  t.not(claims.jti, refresh.jti, 'a new jti')
  t.equal(claims.user_id, 1)
  t.same(claims.scope, ['read'], 'custom claims are copied')
  t.equal(claims.name, 'Peter')
  t.equal(refresh.token_type, 'refresh', 'the refresh claims are left alone')
  t.equal(refresh.jti, '2bfe08b67fb8422ca876bb39419d18fb')

  const noIat = accessClaimsFromRefresh(without(refresh, 'iat'), later, settings())
  t.equal(noIat.iat, NOW + 2, 'without an iat to copy, iat is now')
})

t.test('accessClaimsFromRefresh: aud and iss follow the settings', async t => {
  const refresh: Claims = { token_type: 'refresh', exp: NOW + 86400, iat: NOW, jti: newJti(), user_id: 1, aud: 'old', iss: 'old-issuer' }
  const configured = accessClaimsFromRefresh(refresh, NOW_MS, settings({ JWT_AUDIENCE: 'new', JWT_ISSUER: 'new-issuer' }))
  t.same(Object.keys(configured), ['token_type', 'exp', 'iat', 'jti', 'user_id', 'aud', 'iss'])
  t.equal(configured.aud, 'new', 'the configured audience, as TokenBackend.encode sets it')
  t.equal(configured.iss, 'new-issuer')
  const copied = accessClaimsFromRefresh(refresh, NOW_MS, settings())
  t.equal(copied.aud, 'old', 'without settings, copied like any claim')
  t.equal(copied.iss, 'old-issuer')
})

t.test('accessClaimsFromRefresh: neither the configured jti claim nor "jti" is copied', async t => {
  const custom = settings({ TOKEN_TYPE_CLAIM: 'kind', JTI_CLAIM: 'id', USER_ID_CLAIM: 'uid' })
  const refresh: Claims = { kind: 'refresh', exp: NOW + 86400, iat: NOW, id: 'refresh-id', jti: 'third-party-jti', uid: 3, token_type: 'x' }
  const claims = accessClaimsFromRefresh(refresh, NOW_MS, custom)
  t.equal(claims.kind, 'access')
  t.match(claims.id, JTI)
  t.equal(claims.jti, undefined, '"jti" is never copied (no_copy_claims)')
  t.equal(claims.uid, 3)
  t.equal(claims.token_type, 'x', 'a claim named token_type is just a claim here')
})

t.test('checkClaims: a well-formed token passes, with or without an expected type', async t => {
  t.doesNotThrow(() => checkClaims(access(), NOW_MS, settings(), 'access'), 'access as access')
  t.doesNotThrow(() => checkClaims(access(), NOW_MS, settings()), 'no type expected')
  t.doesNotThrow(() => checkClaims(access({ token_type: 'refresh' }), NOW_MS, settings()), 'a refresh token when no type is expected (verify)')
  t.doesNotThrow(() => checkClaims(without(access(), 'iat'), NOW_MS, settings(), 'access'), 'iat is optional')
  t.doesNotThrow(() => checkClaims(without(access(), 'user_id'), NOW_MS, settings(), 'access'), 'user_id is not a claim check')
  t.doesNotThrow(() => checkClaims(access({ aud: 'anything', iss: 'anyone' }), NOW_MS, settings(), 'access'), 'aud and iss unchecked when not configured')
})

t.test('checkClaims: each of simplejwt\'s messages', async t => {
  const s = settings()
  throwsToken(t, () => checkClaims(access({ exp: NOW - 1 }), NOW_MS, s, 'access'), TOKEN_MESSAGES.invalid, 'expired')
  throwsToken(t, () => checkClaims(without(access(), 'exp'), NOW_MS, s, 'access'), TOKEN_MESSAGES.noExp, 'no exp')
  throwsToken(t, () => checkClaims(without(access(), 'jti'), NOW_MS, s, 'access'), TOKEN_MESSAGES.noId, 'no jti')
  throwsToken(t, () => checkClaims(without(access(), 'token_type'), NOW_MS, s, 'access'), TOKEN_MESSAGES.noType, 'no token_type')
  throwsToken(t, () => checkClaims(access(), NOW_MS, s, 'refresh'), TOKEN_MESSAGES.wrongType, 'access as refresh')
  throwsToken(t, () => checkClaims(access({ token_type: 'refresh' }), NOW_MS, s, 'access'), TOKEN_MESSAGES.wrongType, 'refresh as access')
  throwsToken(t, () => checkClaims(access({ token_type: null }), NOW_MS, s, 'access'), TOKEN_MESSAGES.wrongType, 'token_type null')
  throwsToken(t, () => checkClaims(access({ iat: NOW + 1 }), NOW_MS, s, 'access'), TOKEN_MESSAGES.invalid, 'iat in the future')
  throwsToken(t, () => checkClaims(access({ nbf: NOW + 1 }), NOW_MS, s, 'access'), TOKEN_MESSAGES.invalid, 'nbf in the future')
})

t.test('checkClaims: the order of the checks is PyJWT\'s, then Token.verify()\'s', async t => {
  const s = settings()
  // PyJWT's registered-claim checks come first.
  throwsToken(t, () => checkClaims(without(access({ exp: NOW - 1 }), 'jti', 'token_type'), NOW_MS, s, 'access'), TOKEN_MESSAGES.invalid, 'expired and no jti')
  throwsToken(t, () => checkClaims(without(access({ iat: NOW + 60 }), 'exp'), NOW_MS, s, 'access'), TOKEN_MESSAGES.invalid, 'iat in the future and no exp')
  throwsToken(t, () => checkClaims(without(access(), 'exp'), NOW_MS, settings({ JWT_ISSUER: 'i' }), 'access'), TOKEN_MESSAGES.invalid, 'no iss and no exp')
  // Then exp, jti, type.
  throwsToken(t, () => checkClaims(without(access(), 'exp', 'jti', 'token_type'), NOW_MS, s, 'access'), TOKEN_MESSAGES.noExp, 'no exp, jti, type')
  throwsToken(t, () => checkClaims(without(access(), 'jti', 'token_type'), NOW_MS, s, 'access'), TOKEN_MESSAGES.noId, 'no jti, type')
  throwsToken(t, () => checkClaims(without(access({ token_type: 'refresh' }), 'jti'), NOW_MS, s, 'access'), TOKEN_MESSAGES.noId, 'no jti, wrong type')
})

t.test('checkClaims: exp == now is expired (RFC 7519 §4.1.4)', async t => {
  const s = settings()
  const exp = NOW + 300
  t.doesNotThrow(() => checkClaims(access({ exp }), exp * 1000 - 1, s, 'access'), 'one millisecond before exp')
  t.doesNotThrow(() => checkClaims(access({ exp }), (exp - 1) * 1000, s, 'access'), 'one second before exp')
  throwsToken(t, () => checkClaims(access({ exp }), exp * 1000, s, 'access'), TOKEN_MESSAGES.invalid, 'exactly at exp')
  throwsToken(t, () => checkClaims(access({ exp }), exp * 1000 + 999, s, 'access'), TOKEN_MESSAGES.invalid, 'within exp\'s second')
})

t.test('checkClaims: iat and nbf at now pass, one second later fail', async t => {
  const s = settings()
  t.doesNotThrow(() => checkClaims(access({ iat: NOW }), NOW_MS, s, 'access'), 'iat now')
  t.doesNotThrow(() => checkClaims(access({ nbf: NOW }), NOW_MS, s, 'access'), 'nbf now')
  t.doesNotThrow(() => checkClaims(access({ iat: NOW + 1 }), NOW_MS + 1000, s, 'access'), 'iat reached')
  // PyJWT compares with whole seconds: half a second into NOW, NOW + 1 is still in the future.
  throwsToken(t, () => checkClaims(access({ iat: NOW + 1 }), NOW_MS + 500, s, 'access'), TOKEN_MESSAGES.invalid, 'iat next second')
  throwsToken(t, () => checkClaims(access({ nbf: NOW + 1 }), NOW_MS + 500, s, 'access'), TOKEN_MESSAGES.invalid, 'nbf next second')
})

t.test('checkClaims: JWT_LEEWAY widens exp, iat and nbf, and no more', async t => {
  const s = settings({ JWT_LEEWAY: 30 })
  t.doesNotThrow(() => checkClaims(access({ exp: NOW - 29 }), NOW_MS, s, 'access'), 'exp 29 s ago')
  throwsToken(t, () => checkClaims(access({ exp: NOW - 30 }), NOW_MS, s, 'access'), TOKEN_MESSAGES.invalid, 'exp 30 s ago')
  t.doesNotThrow(() => checkClaims(access({ iat: NOW + 30 }), NOW_MS, s, 'access'), 'iat in 30 s')
  throwsToken(t, () => checkClaims(access({ iat: NOW + 31 }), NOW_MS, s, 'access'), TOKEN_MESSAGES.invalid, 'iat in 31 s')
  t.doesNotThrow(() => checkClaims(access({ nbf: NOW + 30 }), NOW_MS, s, 'access'), 'nbf in 30 s')
  throwsToken(t, () => checkClaims(access({ nbf: NOW + 31 }), NOW_MS, s, 'access'), TOKEN_MESSAGES.invalid, 'nbf in 31 s')
  // Without leeway the same claims fail.
  throwsToken(t, () => checkClaims(access({ exp: NOW - 29 }), NOW_MS, settings(), 'access'), TOKEN_MESSAGES.invalid, 'exp 29 s ago without leeway')
  throwsToken(t, () => checkClaims(access({ iat: NOW + 30 }), NOW_MS, settings(), 'access'), TOKEN_MESSAGES.invalid, 'iat in 30 s without leeway')
})

t.test('checkClaims: exp, iat and nbf must be epoch numbers Python can hold (spec D5)', async t => {
  const s = settings()
  const odd: Array<[string, Claims]> = [
    ['exp as a string', { exp: String(NOW + 300) }],
    ['exp 1e20', { exp: 1e20 }],
    ['exp past 9999-12-31', { exp: 253402300800 }],
    ['exp null', { exp: null }],
    ['exp true', { exp: true }],
    ['exp NaN', { exp: Number.NaN }],
    ['exp Infinity', { exp: Number.POSITIVE_INFINITY }],
    ['exp [n]', { exp: [NOW + 300] }],
    ['iat as a string', { iat: String(NOW) }],
    ['iat null', { iat: null }],
    ['iat -1e20', { iat: -1e20 }],
    ['nbf as a string', { nbf: String(NOW) }],
    ['nbf {}', { nbf: {} }]
  ]
  for (const [label, claims] of odd) {
    throwsToken(t, () => checkClaims(access(claims), NOW_MS, s, 'access'), TOKEN_MESSAGES.invalid, label)
  }
  t.doesNotThrow(() => checkClaims(access({ exp: 253402300799 }), NOW_MS, s, 'access'), 'exp at the last second of year 9999')
  t.doesNotThrow(() => checkClaims(access({ exp: NOW + 300.5, iat: NOW - 0.5 }), NOW_MS, s, 'access'), 'fractional seconds are numbers too')
})

t.test('checkClaims: the jti must be a string of 1 to 255 characters', async t => {
  const s = settings()
  t.doesNotThrow(() => checkClaims(access({ jti: 'x'.repeat(255) }), NOW_MS, s, 'access'), '255 characters')
  t.doesNotThrow(() => checkClaims(access({ jti: 'not-hex-at-all' }), NOW_MS, s, 'access'), 'any string')
  for (const [label, jti] of [['256 characters', 'x'.repeat(256)], ['empty', ''], ['a number', 5], ['null', null], ['an object', {}]] as const) {
    throwsToken(t, () => checkClaims(access({ jti }), NOW_MS, s, 'access'), TOKEN_MESSAGES.invalid, label)
  }
})

t.test('checkClaims: aud and iss when configured (PyJWT)', async t => {
  const s = settings({ JWT_AUDIENCE: 'aud', JWT_ISSUER: 'iss' })
  t.doesNotThrow(() => checkClaims(access({ aud: 'aud', iss: 'iss' }), NOW_MS, s, 'access'), 'both match')
  t.doesNotThrow(() => checkClaims(access({ aud: ['x', 'aud'], iss: 'iss' }), NOW_MS, s, 'access'), 'aud among a list')
  const refused: Array<[string, Claims]> = [
    ['no aud', { iss: 'iss' }],
    ['no iss', { aud: 'aud' }],
    ['another aud', { aud: 'other', iss: 'iss' }],
    ['another iss', { aud: 'aud', iss: 'other' }],
    ['aud list without ours', { aud: ['x'], iss: 'iss' }],
    ['empty aud list', { aud: [], iss: 'iss' }],
    ['aud list with a number', { aud: ['aud', 1], iss: 'iss' }],
    ['aud as an object', { aud: { aud: true }, iss: 'iss' }],
    ['iss as a list', { aud: 'aud', iss: ['iss'] }]
  ]
  for (const [label, claims] of refused) {
    throwsToken(t, () => checkClaims(access(claims), NOW_MS, s, 'access'), TOKEN_MESSAGES.invalid, label)
  }
  throwsToken(t, () => checkClaims(access({ aud: 'aud' }), NOW_MS, settings({ JWT_ISSUER: 'iss' }), 'access'), TOKEN_MESSAGES.invalid, 'issuer only, no iss')
  t.doesNotThrow(() => checkClaims(access({ iss: 'iss' }), NOW_MS, settings({ JWT_ISSUER: 'iss' }), 'access'), 'issuer only, no aud needed')
})

t.test('checkClaims: the jti and type claims are the configured ones', async t => {
  const custom = settings({ TOKEN_TYPE_CLAIM: 'kind', JTI_CLAIM: 'id', USER_ID_CLAIM: 'uid' })
  const claims: Claims = { kind: 'access', exp: NOW + 300, iat: NOW, id: newJti(), uid: 1 }
  t.doesNotThrow(() => checkClaims(claims, NOW_MS, custom, 'access'))
  throwsToken(t, () => checkClaims({ ...without(claims, 'id'), jti: newJti() }, NOW_MS, custom, 'access'), TOKEN_MESSAGES.noId, 'jti instead of id')
  throwsToken(t, () => checkClaims({ ...without(claims, 'kind'), token_type: 'access' }, NOW_MS, custom, 'access'), TOKEN_MESSAGES.noType, 'token_type instead of kind')
  throwsToken(t, () => checkClaims(claims, NOW_MS, custom, 'refresh'), TOKEN_MESSAGES.wrongType, 'kind access as refresh')
})

t.test('userIdOf: only a plain positive JSON integer names a user (spec D4)', async t => {
  const base = JSON.stringify(access())
  const idOf = (literal: string, claim = 'user_id') => {
    const text = base.replace('"user_id":1', `"user_id":${literal}`)
    return userIdOf(signText(text), JSON.parse(text), claim)
  }
  t.equal(idOf('1'), 1)
  t.equal(idOf('987654321'), 987654321)
  t.equal(idOf('9007199254740991'), 9007199254740991, 'the largest safe integer')
  for (const literal of ['"1"', '" 1"', '1.0', '1.5', '1e0', '10E-1', '0.1e1', 'true', 'false', 'null', '[1]', '{}', '{"id":1}', '""', '"abc"', '0', '-0', '-1', '9007199254740993', '1180591620717411303424']) {
    t.equal(idOf(literal), undefined, `user_id ${literal}`)
  }
  const missing = without(access(), 'user_id')
  t.equal(userIdOf(sign(missing), missing, 'user_id'), undefined, 'no user_id claim')
  const custom = { ...missing, uid: 5 }
  t.equal(userIdOf(sign(custom), custom, 'uid'), 5, 'a configured claim name')
  t.equal(userIdOf(sign(custom), custom, 'user_id'), undefined, 'not under the default name')
})

t.test('userIdOf: reads the literal of the top-level member, the last one when repeated', async t => {
  const idOf = (text: string) => userIdOf(signText(text), JSON.parse(text), 'user_id')
  t.equal(idOf('{"user_id":1,"user_id":1.0}'), undefined, '1 then 1.0: the 1.0 counts')
  t.equal(idOf('{"user_id":1.0,"user_id":1}'), 1, '1.0 then 1: the 1 counts')
  t.equal(idOf('{"user_id":"1","user_id":2}'), 2, '"1" then 2')
  t.equal(idOf('{"user\\u005fid":1.0}'), undefined, 'an escaped key is the same key')
  t.equal(idOf('{"user\\u005fid":1.0,"user_id":3}'), 3, 'escaped key then plain key')
  t.equal(idOf('{"a":{"user_id":1.5},"user_id":7}'), 7, 'a nested member of the same name is not it')
  t.equal(idOf('{"user_id":7,"a":{"user_id":1.5}}'), 7, 'nor after it')
  t.equal(idOf('{"a":[{"user_id":"x"}],"user_id":4}'), 4, 'nor inside a list')
  t.equal(idOf('{"s":"\\"user_id\\":1.0,","user_id":3}'), 3, 'nor inside a string with escaped quotes')
  t.equal(idOf('{"s":"]}{[","user_id":3}'), 3, 'brackets inside strings do not count')
  t.equal(idOf('{ "user_id" : 5 , "x" : 1 }'), 5, 'whitespace around the member')
  t.equal(idOf('{\n\t"user_id":\r\n6\n}'), 6, 'newlines and tabs')
})

t.test('rawMemberValue: the source text of a top-level member', async t => {
  const json = '{"a":1,"b":"x","c":{"d":[1,2,{"e":"}"}]},"f":[],"g":true,"h":null,"i":-1.5e+3,"j":"q\\"uo\\\\"}'
  t.equal(rawMemberValue(json, 'a'), '1')
  t.equal(rawMemberValue(json, 'b'), '"x"')
  t.equal(rawMemberValue(json, 'c'), '{"d":[1,2,{"e":"}"}]}', 'a nested object, verbatim')
  t.equal(rawMemberValue(json, 'f'), '[]')
  t.equal(rawMemberValue(json, 'g'), 'true')
  t.equal(rawMemberValue(json, 'h'), 'null')
  t.equal(rawMemberValue(json, 'i'), '-1.5e+3')
  t.equal(rawMemberValue(json, 'j'), '"q\\"uo\\\\"', 'a string ending in an escaped backslash')
  t.equal(rawMemberValue(json, 'd'), undefined, 'nested members are not top-level members')
  t.equal(rawMemberValue(json, 'e'), undefined)
  t.equal(rawMemberValue(json, 'zz'), undefined, 'absent')
  t.equal(rawMemberValue('{}', 'a'), undefined, 'an empty object')
  t.equal(rawMemberValue('  { }  ', 'a'), undefined, 'an empty object with spaces')
  t.equal(rawMemberValue('{"a":1,"a":2,"a":"3"}', 'a'), '"3"', 'the last duplicate wins')
  t.equal(rawMemberValue('{"a":1,"b":2,"a":3}', 'a'), '3', 'the last duplicate wins across others')
  t.equal(rawMemberValue('{"a\\"b":1,"a":2}', 'a"b'), '1', 'a key with an escaped quote')
  t.equal(rawMemberValue('{"a\\"b":1,"a":2}', 'a'), '2')
  t.equal(rawMemberValue(' {\n "a" :\t[ 1 , 2 ] ,\r\n "b" : 2 } ', 'a'), '[ 1 , 2 ]', 'whitespace everywhere')
  t.equal(rawMemberValue('{"\\u0061":9}', 'a'), '9', 'keys are compared decoded')
})

t.test('isCutOff: tokens from the user\'s last revocation or before, or from before the user existed, in whole seconds', async t => {
  const joined = new Date(NOW_MS - 86_400_000 + 400)
  const user = (cutoff: Date | null) => ({ tokensValidAfter: cutoff, dateJoined: joined })
  const cutoff = new Date(NOW_MS + 400)
  t.equal(isCutOff(access({ iat: NOW - 1 }), user(null)), false, 'no cut-off')
  t.equal(isCutOff(access({ iat: NOW - 1 }), user(cutoff)), true, 'a second before')
  t.equal(isCutOff(access({ iat: NOW }), user(cutoff)), true, 'in the cut-off\'s own second: it may have been minted before the revocation')
  t.equal(isCutOff(access({ iat: NOW + 1 }), user(cutoff)), false, 'after')
  t.equal(isCutOff(without(access(), 'iat'), user(cutoff)), true, 'no iat')
  t.equal(isCutOff(without(access(), 'iat'), user(null)), false, 'no iat and no revocation')
  t.equal(isCutOff(access({ iat: String(NOW + 10) }), user(cutoff)), true, 'iat as a string')
  t.equal(isCutOff(access({ iat: NOW - 86_400 - 1 }), user(null)), true, 'a second before the user was created: an earlier user of the same id')
  t.equal(isCutOff(access({ iat: NOW - 86_400 }), user(null)), false, 'in the creation\'s own second')
})

function service (overrides: Partial<TokenSettings> = {}, clock = { ms: NOW_MS }) {
  const calls = { sign: [] as Claims[], verify: 0 }
  const tokens = createTokenService({
    settings: settings(overrides),
    sign: (payload) => { calls.sign.push(payload); return sign(payload) },
    verify: (token) => { calls.verify++; return verify(token) },
    now: () => clock.ms
  })
  return { tokens, calls, clock }
}

t.test('createTokenService: obtainPair mints a refresh and an access token sharing one iat', async t => {
  const { tokens, calls } = service()
  const pair = tokens.obtainPair(1)
  const refreshText = payloadText(pair.refresh)
  const accessText = payloadText(pair.access)
  t.match(refreshText, new RegExp(`^\\{"token_type":"refresh","exp":${NOW + 86400},"iat":${NOW},"jti":"[0-9a-f]{32}","user_id":1\\}$`), 'refresh payload text')
  t.match(accessText, new RegExp(`^\\{"token_type":"access","exp":${NOW + 300},"iat":${NOW},"jti":"[0-9a-f]{32}","user_id":1\\}$`), 'access payload text')
  const refresh = JSON.parse(refreshText)
  const accessPayload = JSON.parse(accessText)
  t.same(pair.refreshClaims, refresh, 'refreshClaims are the refresh token\'s claims')
  t.equal(accessPayload.iat, refresh.iat, 'one iat')
  t.not(accessPayload.jti, refresh.jti, 'two jtis')
  t.equal(calls.sign.length, 2, 'two signatures')
  t.same(tokens.validate(pair.access, 'access'), accessPayload, 'the access token validates as access')
  t.same(tokens.validate(pair.refresh, 'refresh'), refresh, 'the refresh token validates as refresh')
  t.equal(tokens.userId(pair.access, accessPayload), 1)
})

t.test('createTokenService: obtainPair with audience and issuer', async t => {
  const { tokens } = service({ JWT_AUDIENCE: 'aud', JWT_ISSUER: 'iss' })
  const pair = tokens.obtainPair(2)
  t.match(payloadText(pair.access), new RegExp(`^\\{"token_type":"access","exp":${NOW + 300},"iat":${NOW},"jti":"[0-9a-f]{32}","user_id":2,"aud":"aud","iss":"iss"\\}$`))
  t.match(payloadText(pair.refresh), /,"user_id":2,"aud":"aud","iss":"iss"\}$/)
  t.doesNotThrow(() => tokens.validate(pair.access, 'access'))
  const other = service({ JWT_AUDIENCE: 'other', JWT_ISSUER: 'iss' }).tokens
  throwsToken(t, () => other.validate(pair.access, 'access'), TOKEN_MESSAGES.invalid, 'another audience')
})

t.test('createTokenService: rotate keeps the claims and their order, with a new jti, iat and exp', async t => {
  const { tokens, clock } = service({ JWT_AUDIENCE: 'aud' })
  const { refresh, refreshClaims } = tokens.obtainPair(1)
  const withCustom = { ...refreshClaims, scope: 'read' }
  const given = JSON.stringify(withCustom)
  clock.ms += 5000
  const rotated = tokens.rotate(withCustom)
  const text = payloadText(rotated.token)
  const claims = JSON.parse(text)
  t.same(Object.keys(claims), ['token_type', 'exp', 'iat', 'jti', 'user_id', 'aud', 'scope'], 'the same order')
  t.equal(claims.token_type, 'refresh')
  t.equal(claims.iat, NOW + 5, 'iat = now')
  t.equal(claims.exp, NOW + 5 + 86400, 'exp = now + refresh lifetime')
  t.match(claims.jti, JTI)
  t.not(claims.jti, refreshClaims.jti, 'a new jti')
  t.equal(claims.user_id, 1)
  t.equal(claims.aud, 'aud')
  t.equal(claims.scope, 'read')
  t.not(rotated.token, refresh)
  t.same(tokens.validate(rotated.token, 'refresh'), claims, 'the rotated token validates')
  t.equal(JSON.stringify(withCustom), given, 'the claims given are left alone')
})

t.test('createTokenService: accessFrom mints the refresh token\'s access token', async t => {
  const { tokens, clock } = service()
  const { refreshClaims } = tokens.obtainPair(1)
  clock.ms += 2000
  const token = tokens.accessFrom(refreshClaims)
  const claims = JSON.parse(payloadText(token))
  t.same(Object.keys(claims), ['token_type', 'exp', 'iat', 'jti', 'user_id'])
  t.equal(claims.iat, NOW, 'the refresh token\'s iat')
  t.equal(claims.exp, NOW + 2 + 300, 'now + access lifetime')
  t.not(claims.jti, refreshClaims.jti)
  t.same(tokens.validate(token, 'access'), claims)
})

t.test('createTokenService: validate refuses with simplejwt\'s messages', async t => {
  const { tokens, calls, clock } = service()
  const { access: token, refresh } = tokens.obtainPair(1)
  throwsToken(t, () => tokens.validate(token, 'refresh'), TOKEN_MESSAGES.wrongType, 'access as refresh')
  throwsToken(t, () => tokens.validate(refresh, 'access'), TOKEN_MESSAGES.wrongType, 'refresh as access')
  t.doesNotThrow(() => tokens.validate(refresh), 'no type expected')

  const before = calls.verify
  throwsToken(t, () => tokens.validate('garbage', 'access'), TOKEN_MESSAGES.invalid, 'garbage')
  throwsToken(t, () => tokens.validate(`${token}=`, 'access'), TOKEN_MESSAGES.invalid, 'padding')
  throwsToken(t, () => tokens.validate(`${token}!!!!`, 'access'), TOKEN_MESSAGES.invalid, 'junk')
  t.equal(calls.verify, before, 'malformed tokens never reach the verifier')

  const [header, payload] = token.split('.')
  throwsToken(t, () => tokens.validate(`${header}.${payload}.${hmac(`${header}.${payload}`, 'another key')}`, 'access'), TOKEN_MESSAGES.invalid, 'another key')
  throwsToken(t, () => tokens.validate(sign(access(), { alg: 'HS512', typ: 'JWT' }), 'access'), TOKEN_MESSAGES.invalid, 'another algorithm')
  throwsToken(t, () => tokens.validate(sign(without(access(), 'exp')), 'access'), TOKEN_MESSAGES.noExp, 'no exp')
  throwsToken(t, () => tokens.validate(sign(without(access(), 'jti')), 'access'), TOKEN_MESSAGES.noId, 'no jti')
  throwsToken(t, () => tokens.validate(sign(without(access(), 'token_type')), 'access'), TOKEN_MESSAGES.noType, 'no type')

  clock.ms += 300_000
  throwsToken(t, () => tokens.validate(token, 'access'), TOKEN_MESSAGES.invalid, 'expired by the injected clock')
  t.doesNotThrow(() => tokens.validate(refresh, 'refresh'), 'the refresh token lives on')
})

t.test('createTokenService: validate refuses crit headers and non-object payloads', async t => {
  const { tokens } = service()
  throwsToken(t, () => tokens.validate(sign(access(), { alg: 'HS256', typ: 'JWT', crit: ['x'], x: 1 }), 'access'), TOKEN_MESSAGES.invalid, 'crit (spec D6)')
  throwsToken(t, () => tokens.validate(sign(access(), { alg: 'HS256', typ: 'JWT', crit: [] }), 'access'), TOKEN_MESSAGES.invalid, 'empty crit')
  for (const text of ['[1]', 'null', '1', '"access"', 'true']) {
    throwsToken(t, () => tokens.validate(signText(text), 'access'), TOKEN_MESSAGES.invalid, `payload ${text}`)
  }
  t.doesNotThrow(() => tokens.validate(sign(access(), { alg: 'HS256', typ: 'JWT', kid: 'k' }), 'access'), 'other header parameters are fine')
})

t.test('createTokenService: userId reads the configured claim from the token text', async t => {
  const { tokens } = service({ USER_ID_CLAIM: 'uid' })
  const { access: token } = tokens.obtainPair(9)
  const claims = tokens.validate(token, 'access')
  t.equal(claims.uid, 9)
  t.equal(tokens.userId(token, claims), 9)
  const text = JSON.stringify({ ...access(), uid: 0 }).replace('"uid":0', '"uid":9.0')
  const odd = signText(text)
  t.equal(tokens.userId(odd, tokens.validate(odd, 'access')), undefined, 'uid 9.0')
})
