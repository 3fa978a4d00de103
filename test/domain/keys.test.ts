// src/domain/keys.ts without Fastify: every algorithm, key ids, the start-up key audit, the JWKS document; and `keys generate`
import {
  constants, createHash, createHmac, createPrivateKey, createPublicKey, generateKeyPairSync,
  sign as cryptoSign, verify as cryptoVerify, type JsonWebKey, type KeyObject
} from 'node:crypto'
import { PassThrough } from 'node:stream'
import { finished } from 'node:stream/promises'
import t from 'tap'
import { calculateJwkThumbprint, type JWK } from 'jose'
import {
  ALGORITHMS, generateKey, HMAC_KEY_BYTES, hmacKid, jwks, KeyError, keyedVerifier, loadKeySet, thumbprint,
  type Algorithm, type KeySet, type KeySettings
} from '../../src/domain/keys.js'
import { ConfigError, loadConfig } from '../../src/domain/settings.js'
import { runCli, type CliIo } from '../../src/cli.js'
import { bearer, build, createUser, decodeParts, obtainPair } from '../helper.js'

// RSA generation is slow: every RSA key of this file is made here, once.
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const rsaOther = generateKeyPairSync('rsa', { modulusLength: 2048 })
const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 })
const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
const p256Other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' })
const p521 = generateKeyPairSync('ec', { namedCurve: 'secp521r1' })
const secp256k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' })
const ed25519 = generateKeyPairSync('ed25519')
const x25519 = generateKeyPairSync('x25519')

const privatePem = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }).toString()
const publicPem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString()
const publicJwk = (key: KeyObject) => key.export({ format: 'jwk' })

/** The private key that fits each asymmetric algorithm. */
const PAIRS: Record<Exclude<Algorithm, 'HS256' | 'HS384' | 'HS512'>, { privateKey: KeyObject, publicKey: KeyObject }> = {
  RS256: rsa,
  RS384: rsa,
  RS512: rsa,
  PS256: rsa,
  PS384: rsa,
  PS512: rsa,
  ES256: p256,
  ES384: p384,
  ES512: p521,
  EdDSA: ed25519
}

const HASHES: Record<string, string | null> = {
  RS256: 'sha256',
  RS384: 'sha384',
  RS512: 'sha512',
  PS256: 'sha256',
  PS384: 'sha384',
  PS512: 'sha512',
  ES256: 'sha256',
  ES384: 'sha384',
  ES512: 'sha512',
  EdDSA: null
}

/** A JWS signature made with node:crypto alone, as a verifier of the algorithm expects it. */
function signWith (alg: Algorithm, pem: KeyObject | string, data: string): Buffer {
  const hash = HASHES[alg] as string | null
  const key = typeof pem === 'string' ? createPrivateKey(pem) : pem
  if (alg.startsWith('PS')) {
    return cryptoSign(hash, Buffer.from(data), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 })
  }
  if (alg.startsWith('ES')) return cryptoSign(hash, Buffer.from(data), { key, dsaEncoding: 'ieee-p1363' })
  return cryptoSign(hash, Buffer.from(data), key)
}

function verifyWith (alg: Algorithm, pem: KeyObject | string, data: string, signature: Buffer): boolean {
  const hash = HASHES[alg] as string | null
  const key = typeof pem === 'string' ? createPublicKey(pem) : pem
  if (alg.startsWith('PS')) {
    return cryptoVerify(hash, Buffer.from(data), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 }, signature)
  }
  if (alg.startsWith('ES')) return cryptoVerify(hash, Buffer.from(data), { key, dsaEncoding: 'ieee-p1363' }, signature)
  return cryptoVerify(hash, Buffer.from(data), key, signature)
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']

/** Runs fn and returns what it throws (undefined when it does not throw). */
function thrown (fn: () => unknown): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  return undefined
}

type Assert = Pick<typeof t, 'type' | 'equal' | 'match' | 'notMatch' | 'ok'>

/** Asserts that loadKeySet refuses the settings with a KeyError naming `variable`, with exactly `message`. */
function assertKeyError (t: Assert, settings: KeySettings, variable: string, message: string | RegExp, label: string) {
  const err = thrown(() => loadKeySet(settings)) as KeyError
  t.type(err, KeyError, `${label}: a KeyError`)
  t.equal(err?.variable, variable, `${label}: names ${variable}`)
  if (typeof message === 'string') t.equal(err?.message, message, `${label}: message`)
  else t.match(err?.message, message, `${label}: message`)
}

const HMAC_SECRET = 'an-hmac-secret-long-enough-for-HS512-0123456789abcdef-0123456789abcdef'

t.test('loadKeySet: every asymmetric algorithm, with its public JWK and thumbprint kid', async t => {
  for (const [name, pair] of Object.entries(PAIRS)) {
    const alg = name as Algorithm
    const keys = loadKeySet({ alg, signingKey: privatePem(pair.privateKey), production: true })
    const jwk = publicJwk(pair.publicKey)
    const kid = thumbprint(jwk)
    t.equal(keys.alg, alg, `${alg}: alg`)
    t.equal(keys.kid, kid, `${alg}: the header kid is the RFC 7638 thumbprint`)
    t.equal(kid, await calculateJwkThumbprint(jwk as JWK, 'sha256'), `${alg}: the thumbprint agrees with jose's`)
    t.same(keys.previous, [], `${alg}: no retired keys`)
    t.equal(keys.current.kid, kid, `${alg}: current kid`)
    t.equal(keys.current.alg, alg, `${alg}: current alg`)
    t.equal(keys.current.key, publicPem(pair.publicKey), `${alg}: the verifying key is the SPKI PEM of the public key`)
    t.strictSame(keys.current.jwk, { ...jwk, kid, alg, use: 'sig' }, `${alg}: the public JWK with kid, alg and use`)
    for (const member of PRIVATE_MEMBERS) t.notOk(member in (keys.current.jwk as object), `${alg}: no "${member}" in the JWK`)
    t.match(keys.signingKey, /^-----BEGIN PRIVATE KEY-----\n/, `${alg}: the signing key is PKCS#8 PEM`)
    // What the signing key signs, the verifying key verifies, with the algorithm's own scheme.
    const signature = signWith(alg, keys.signingKey, 'payload')
    t.ok(verifyWith(alg, keys.current.key as string, 'payload', signature), `${alg}: sign and verify`)
    t.strictSame(jwks(keys), { keys: [keys.current.jwk] }, `${alg}: jwks() lists the current key`)
  }
})

t.test('loadKeySet: the HMAC algorithms', async t => {
  for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
    const keys = loadKeySet({ alg, signingKey: HMAC_SECRET, production: true })
    t.equal(keys.alg, alg)
    t.equal(keys.signingKey, HMAC_SECRET, `${alg}: the secret is used as given`)
    t.equal(keys.kid, undefined, `${alg}: one HMAC key keeps simplejwt's {"alg","typ"} header`)
    t.equal(keys.current.kid, hmacKid(HMAC_SECRET), `${alg}: the current key still has an id`)
    t.equal(keys.current.key, HMAC_SECRET)
    t.equal(keys.current.jwk, undefined, `${alg}: a secret has no public JWK`)
    t.strictSame(jwks(keys), { keys: [] }, `${alg}: nothing to publish`)
  }
})

t.test('loadKeySet: other PEM encodings of the same key are accepted and normalised to PKCS#8', async t => {
  const pkcs1 = rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()
  const fromPkcs1 = loadKeySet({ alg: 'RS256', signingKey: pkcs1, production: true })
  t.equal(fromPkcs1.signingKey, privatePem(rsa.privateKey), 'PKCS#1 RSA PRIVATE KEY')
  t.equal(fromPkcs1.kid, thumbprint(publicJwk(rsa.publicKey)))
  const sec1 = p256.privateKey.export({ type: 'sec1', format: 'pem' }).toString()
  const fromSec1 = loadKeySet({ alg: 'ES256', signingKey: sec1, production: true })
  t.equal(fromSec1.signingKey, privatePem(p256.privateKey), 'SEC1 EC PRIVATE KEY')
  // A matching JWT_VERIFYING_KEY, in SPKI or PKCS#1, is accepted and gives the same kid.
  const withSpki = loadKeySet({ alg: 'RS256', signingKey: privatePem(rsa.privateKey), verifyingKey: publicPem(rsa.publicKey), production: true })
  t.equal(withSpki.kid, fromPkcs1.kid)
  const pkcs1Public = rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString()
  const withPkcs1 = loadKeySet({ alg: 'PS256', signingKey: privatePem(rsa.privateKey), verifyingKey: pkcs1Public, production: true })
  t.equal(withPkcs1.kid, fromPkcs1.kid)
  t.equal(withPkcs1.current.key, publicPem(rsa.publicKey), 'the verifying key is normalised to SPKI')
  // For HMAC, a JWT_VERIFYING_KEY equal to the secret is tolerated (simplejwt ignores it).
  t.equal(loadKeySet({ alg: 'HS256', signingKey: HMAC_SECRET, verifyingKey: HMAC_SECRET, production: true }).kid, undefined)
})

t.test('kid rules: when new tokens carry a kid', async t => {
  const retiredOct = JSON.stringify({ keys: [{ kty: 'oct', k: Buffer.from('retired-secret-0123456789abcdef-0123').toString('base64url'), alg: 'HS256' }] })
  const retiredRsa = JSON.stringify({ keys: [{ ...publicJwk(rsa.publicKey), alg: 'RS256' }] })
  t.equal(loadKeySet({ alg: 'HS256', signingKey: HMAC_SECRET, production: false }).kid, undefined, 'one HMAC key: no kid')
  t.equal(loadKeySet({ alg: 'HS256', signingKey: HMAC_SECRET, previousKeys: retiredOct, production: false }).kid, hmacKid(HMAC_SECRET),
    'an HMAC key with a retired key: the HMAC kid')
  t.equal(loadKeySet({ alg: 'HS512', signingKey: HMAC_SECRET, previousKeys: retiredRsa, production: false }).kid, hmacKid(HMAC_SECRET),
    'an HMAC key with a retired RSA key: the HMAC kid')
  t.equal(loadKeySet({ alg: 'HS256', signingKey: HMAC_SECRET, previousKeys: '{"keys":[]}', production: false }).kid, undefined,
    'an empty retired-key set changes nothing')
  t.equal(loadKeySet({ alg: 'ES256', signingKey: privatePem(p256.privateKey), production: false }).kid, thumbprint(publicJwk(p256.publicKey)),
    'an asymmetric key: always its thumbprint')
  const withRetired = loadKeySet({ alg: 'ES256', signingKey: privatePem(p256.privateKey), previousKeys: retiredRsa, production: false })
  t.equal(withRetired.kid, thumbprint(publicJwk(p256.publicKey)))
  t.equal(withRetired.previous.length, 1)
  t.equal(withRetired.previous[0].kid, thumbprint(publicJwk(rsa.publicKey)), 'a retired key without kid gets its thumbprint')
  t.equal(withRetired.previous[0].alg, 'RS256')
  t.equal(withRetired.previous[0].key, publicPem(rsa.publicKey))
  const named = loadKeySet({
    alg: 'ES256',
    signingKey: privatePem(p256.privateKey),
    previousKeys: JSON.stringify({ keys: [{ ...publicJwk(rsa.publicKey), alg: 'RS256', kid: 'rsa-2025' }] }),
    production: false
  })
  t.equal(named.previous[0].kid, 'rsa-2025', 'a retired key keeps the kid it was published with')
  t.equal(named.previous[0].jwk?.kid, 'rsa-2025')
})

t.test('thumbprint: the RFC 7638 §3.1 example', async t => {
  const rfc = {
    kty: 'RSA',
    n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
    e: 'AQAB',
    alg: 'RS256',
    kid: '2011-04-29'
  }
  t.equal(thumbprint(rfc), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs')
  // Only the required members count: the order of the input and any extra member change nothing.
  t.equal(thumbprint({ e: rfc.e, n: rfc.n, kty: 'RSA' }), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs', 'without alg and kid, other order')
  t.equal(thumbprint({ ...rfc, use: 'sig', d: 'AAAA' }), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs', 'with use and a private member')
  // EC and OKP keys agree with jose's independent implementation.
  for (const key of [p256.publicKey, p384.publicKey, p521.publicKey, ed25519.publicKey, rsaOther.publicKey]) {
    const jwk = publicJwk(key)
    t.equal(thumbprint(jwk), await calculateJwkThumbprint(jwk as JWK, 'sha256'), `${jwk.kty} ${jwk.crv ?? ''}`.trim())
    t.match(thumbprint(jwk), /^[\w-]{43}$/, 'SHA-256, base64url without padding')
  }
  t.not(thumbprint(publicJwk(p256.publicKey)), thumbprint(publicJwk(p256Other.publicKey)), 'two keys, two thumbprints')
})

t.test('hmacKid: stable, short, and not revealing the secret', async t => {
  const kid = hmacKid(HMAC_SECRET)
  t.equal(hmacKid(HMAC_SECRET), kid, 'the same secret gives the same kid')
  t.equal(hmacKid(Buffer.from(HMAC_SECRET)), kid, 'a string and its UTF-8 bytes give the same kid (env secret vs "oct" JWK)')
  t.match(kid, /^[\w-]{22}$/, '22 base64url characters')
  // Pinned: tokens in flight carry this kid, so it must not change between versions.
  t.equal(kid, createHmac('sha256', HMAC_SECRET).update('fastify-simplejwt key id').digest('base64url').slice(0, 22))
  t.not(hmacKid(`${HMAC_SECRET}x`), kid, 'another secret, another kid')
  t.not(hmacKid('a'), hmacKid('b'))
  // It is not a plain hash of the secret, nor the RFC 7638 thumbprint of an "oct" JWK, both of which
  // would let anyone test guesses of a weak secret offline without a token.
  const sha = createHash('sha256').update(HMAC_SECRET).digest('base64url')
  t.not(kid, sha.slice(0, 22), 'not SHA-256(secret)')
  const octThumbprint = createHash('sha256').update(JSON.stringify({ k: Buffer.from(HMAC_SECRET).toString('base64url'), kty: 'oct' })).digest('base64url')
  t.not(kid, octThumbprint.slice(0, 22), 'not the "oct" thumbprint')
  t.notMatch(kid, HMAC_SECRET.slice(0, 8), 'no part of the secret')
  t.notMatch(kid, Buffer.from(HMAC_SECRET).toString('base64url').slice(0, 8), 'no part of its base64url form')
})

t.test('the key audit: a signing key that does not fit the algorithm', async t => {
  const production = true
  assertKeyError(t, { alg: 'ES256', signingKey: privatePem(rsa.privateKey), production }, 'JWT_SIGNING_KEY',
    'an RSA key does not fit ES256, which needs an EC key on P-256', 'RSA key with ES256')
  assertKeyError(t, { alg: 'ES256', signingKey: privatePem(p384.privateKey), production }, 'JWT_SIGNING_KEY',
    'an EC key on secp384r1 does not fit ES256, which needs P-256', 'P-384 key with ES256')
  assertKeyError(t, { alg: 'ES384', signingKey: privatePem(p256.privateKey), production }, 'JWT_SIGNING_KEY',
    'an EC key on prime256v1 does not fit ES384, which needs P-384', 'P-256 key with ES384')
  assertKeyError(t, { alg: 'ES512', signingKey: privatePem(p384.privateKey), production }, 'JWT_SIGNING_KEY',
    'an EC key on secp384r1 does not fit ES512, which needs P-521', 'P-384 key with ES512')
  assertKeyError(t, { alg: 'ES256', signingKey: privatePem(secp256k1.privateKey), production }, 'JWT_SIGNING_KEY',
    'an EC key on secp256k1 does not fit ES256, which needs P-256', 'secp256k1 key with ES256')
  assertKeyError(t, { alg: 'RS256', signingKey: privatePem(ed25519.privateKey), production }, 'JWT_SIGNING_KEY',
    'an Ed25519 key does not fit RS256, which needs an RSA key', 'Ed25519 key with RS256')
  assertKeyError(t, { alg: 'PS256', signingKey: privatePem(p256.privateKey), production }, 'JWT_SIGNING_KEY',
    'an EC key on prime256v1 does not fit PS256, which needs an RSA key', 'EC key with PS256')
  assertKeyError(t, { alg: 'EdDSA', signingKey: privatePem(rsa.privateKey), production }, 'JWT_SIGNING_KEY',
    /^an RSA key does not fit EdDSA/, 'RSA key with EdDSA')
  assertKeyError(t, { alg: 'EdDSA', signingKey: privatePem(x25519.privateKey), production }, 'JWT_SIGNING_KEY',
    /^a x25519 key does not fit EdDSA/, 'X25519 (a key-agreement key) with EdDSA')
  for (const alg of ['RS256', 'PS512'] as const) {
    assertKeyError(t, { alg, signingKey: privatePem(rsa1024.privateKey), production }, 'JWT_SIGNING_KEY',
      `a 1024-bit RSA key is too short for ${alg} (at least 2048 bits)`, `1024-bit RSA with ${alg}`)
  }
  // Outside production too: an unfit key is never a development convenience.
  assertKeyError(t, { alg: 'RS256', signingKey: privatePem(rsa1024.privateKey), production: false }, 'JWT_SIGNING_KEY',
    'a 1024-bit RSA key is too short for RS256 (at least 2048 bits)', '1024-bit RSA outside production')
})

t.test('the key audit: a secret where a PEM is needed, and the other way round', async t => {
  for (const alg of ['RS256', 'PS256', 'ES256', 'EdDSA'] as const) {
    assertKeyError(t, { alg, signingKey: HMAC_SECRET, production: false }, 'JWT_SIGNING_KEY', 'is not a PEM private key', `HMAC secret with ${alg}`)
  }
  assertKeyError(t, { alg: 'RS256', signingKey: publicPem(rsa.publicKey), production: false }, 'JWT_SIGNING_KEY', 'is not a PEM private key',
    'a public key as the signing key')
  const encrypted = rsa.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pass' }).toString()
  assertKeyError(t, { alg: 'RS256', signingKey: encrypted, production: false }, 'JWT_SIGNING_KEY', 'is not a PEM private key',
    'an encrypted PEM (no passphrase setting)')
  const truncated = privatePem(p256.privateKey).slice(0, 80)
  assertKeyError(t, { alg: 'ES256', signingKey: truncated, production: false }, 'JWT_SIGNING_KEY', 'is not a PEM private key', 'a truncated PEM')
  for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
    for (const pem of [privatePem(rsa.privateKey), publicPem(p256.publicKey)]) {
      assertKeyError(t, { alg, signingKey: pem, production: false }, 'JWT_SIGNING_KEY',
        `is a PEM key, but ${alg} needs a shared secret; set JWT_ALGORITHM to the key's algorithm`, `a PEM with ${alg}`)
    }
  }
  assertKeyError(t, { alg: 'HS256', signingKey: HMAC_SECRET, verifyingKey: publicPem(rsa.publicKey), production: false }, 'JWT_VERIFYING_KEY',
    'must be unset (or equal to JWT_SIGNING_KEY) for HS256', 'a verifying key with HS256')
})

t.test('the key audit: a verifying key that does not match the signing key', async t => {
  const mismatch = 'does not match JWT_SIGNING_KEY: it cannot verify what the signing key signs'
  assertKeyError(t, { alg: 'RS256', signingKey: privatePem(rsa.privateKey), verifyingKey: publicPem(rsaOther.publicKey), production: true },
    'JWT_VERIFYING_KEY', mismatch, 'another RSA key')
  assertKeyError(t, { alg: 'PS384', signingKey: privatePem(rsa.privateKey), verifyingKey: publicPem(rsaOther.publicKey), production: true },
    'JWT_VERIFYING_KEY', mismatch, 'another RSA key, PS384')
  assertKeyError(t, { alg: 'ES256', signingKey: privatePem(p256.privateKey), verifyingKey: publicPem(p256Other.publicKey), production: true },
    'JWT_VERIFYING_KEY', mismatch, 'another P-256 key')
  assertKeyError(t, { alg: 'ES256', signingKey: privatePem(p256.privateKey), verifyingKey: publicPem(p384.publicKey), production: true },
    'JWT_VERIFYING_KEY', 'an EC key on secp384r1 does not fit ES256, which needs P-256', 'a P-384 key')
  assertKeyError(t, { alg: 'EdDSA', signingKey: privatePem(ed25519.privateKey), verifyingKey: publicPem(generateKeyPairSync('ed25519').publicKey), production: true },
    'JWT_VERIFYING_KEY', mismatch, 'another Ed25519 key')
  assertKeyError(t, { alg: 'RS256', signingKey: privatePem(rsa.privateKey), verifyingKey: publicPem(p256.publicKey), production: true },
    'JWT_VERIFYING_KEY', 'an EC key on prime256v1 does not fit RS256, which needs an RSA key', 'an EC key for RS256')
  assertKeyError(t, { alg: 'RS256', signingKey: privatePem(rsa.privateKey), verifyingKey: privatePem(rsa.privateKey), production: true },
    'JWT_VERIFYING_KEY', 'is not a PEM public key', 'the private key itself')
  assertKeyError(t, { alg: 'RS256', signingKey: privatePem(rsa.privateKey), verifyingKey: 'not a key', production: true },
    'JWT_VERIFYING_KEY', 'is not a PEM public key', 'not a PEM')

  // A verifying key of another type must be refused with a KeyError like the rest, not an OpenSSL error.
  const err = thrown(() => loadKeySet({ alg: 'ES256', signingKey: privatePem(p256.privateKey), verifyingKey: publicPem(ed25519.publicKey), production: true }))
  t.ok(err !== undefined, 'an Ed25519 verifying key for ES256 is refused')
  t.type(err, KeyError, 'an Ed25519 verifying key for ES256: a KeyError')
  t.equal((err as KeyError).variable, 'JWT_VERIFYING_KEY', 'names JWT_VERIFYING_KEY')
})

t.test('the key audit: an RSASSA-PSS key (id-RSASSA-PSS) is either used or refused, never a crash', async t => {
  // checkKeyFits() lets "rsa-pss" keys through for PS*, but Node cannot export them as a JWK.
  const pss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 })
  const err = thrown(() => loadKeySet({ alg: 'PS256', signingKey: privatePem(pss.privateKey), production: true }))
  t.ok(err === undefined || err instanceof KeyError, 'PS256 with an RSA-PSS key: loaded, or a KeyError')
  assertKeyError(t, { alg: 'RS256', signingKey: privatePem(pss.privateKey), production: true }, 'JWT_SIGNING_KEY',
    /^is an RSA-PSS-only key; use a plain RSA key/, 'an RSA-PSS key with RS256')
})

t.test('the key audit: weak HMAC secrets are refused in production only', async t => {
  for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
    const bytes = HMAC_KEY_BYTES[alg]
    assertKeyError(t, { alg, signingKey: 'k'.repeat(bytes - 1), production: true }, 'JWT_SIGNING_KEY',
      `an ${alg} key must be at least ${bytes} bytes when NODE_ENV=production (got ${bytes - 1})`, `${alg} with ${bytes - 1} bytes`)
    t.equal(loadKeySet({ alg, signingKey: 'k'.repeat(bytes), production: true }).alg, alg, `${alg} with ${bytes} bytes`)
    t.equal(loadKeySet({ alg, signingKey: 'k'.repeat(bytes - 1), production: false }).alg, alg, `${alg} with ${bytes - 1} bytes outside production`)
  }
  t.same(HMAC_KEY_BYTES, { HS256: 32, HS384: 48, HS512: 64 })
  assertKeyError(t, { alg: 'HS256', signingKey: 'é'.repeat(15), production: true }, 'JWT_SIGNING_KEY',
    'an HS256 key must be at least 32 bytes when NODE_ENV=production (got 30)', 'measured in bytes')
})

t.test('the key audit: JWT_PREVIOUS_VERIFYING_KEYS', async t => {
  const base = { alg: 'ES256' as const, signingKey: privatePem(p256.privateKey), production: true }
  const V = 'JWT_PREVIOUS_VERIFYING_KEYS'
  const rsaJwk = { ...publicJwk(rsa.publicKey), alg: 'RS256' }
  const cases: Array<[string, string, string, string | RegExp]> = [
    ['not JSON', 'not json', V, 'is not JSON (expected a JWKS document: {"keys":[…]})'],
    ['a PEM', publicPem(rsa.publicKey), V, 'is not JSON (expected a JWKS document: {"keys":[…]})'],
    ['null', 'null', V, 'must be a JWKS document: {"keys":[…]}'],
    ['a bare array of keys', JSON.stringify([rsaJwk]), V, 'must be a JWKS document: {"keys":[…]}'],
    ['a bare JWK', JSON.stringify(rsaJwk), V, 'must be a JWKS document: {"keys":[…]}'],
    ['no keys array', '{}', V, 'must be a JWKS document: {"keys":[…]}'],
    ['keys an object', '{"keys":{}}', V, 'must be a JWKS document: {"keys":[…]}'],
    ['a key that is not an object', '{"keys":[null]}', V, 'key 0 is not an object'],
    ['a key that is a string', '{"keys":["x"]}', V, 'key 0 is not an object'],
    ['a key without alg', JSON.stringify({ keys: [publicJwk(rsa.publicKey)] }), V, `key 0 needs an "alg", one of ${ALGORITHMS.join(', ')}`],
    ['alg none', JSON.stringify({ keys: [{ ...rsaJwk, alg: 'none' }] }), V, /^key 0 needs an "alg"/],
    ['alg in lowercase', JSON.stringify({ keys: [{ ...rsaJwk, alg: 'rs256' }] }), V, /^key 0 needs an "alg"/],
    ['the second key without alg', JSON.stringify({ keys: [rsaJwk, publicJwk(p384.publicKey)] }), V, /^key 1 needs an "alg"/],
    ['oct with an RS alg', JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0', alg: 'RS256' }] }), V, 'key 0: an "oct" key needs an HS* "alg" and a "k"'],
    ['oct without k', JSON.stringify({ keys: [{ kty: 'oct', alg: 'HS256' }] }), V, 'key 0: an "oct" key needs an HS* "alg" and a "k"'],
    ['an RSA key with an HS alg', JSON.stringify({ keys: [{ ...rsaJwk, alg: 'HS256' }] }), V, /^key 0: an RSA key does not fit HS256/],
    ['an RSA key with ES256', JSON.stringify({ keys: [{ ...rsaJwk, alg: 'ES256' }] }), V, 'key 0: an RSA key does not fit ES256, which needs an EC key on P-256'],
    ['a P-384 key with ES256', JSON.stringify({ keys: [{ ...publicJwk(p384.publicKey), alg: 'ES256' }] }), V,
      'key 0: an EC key on secp384r1 does not fit ES256, which needs P-256'],
    ['an Ed25519 key with RS256', JSON.stringify({ keys: [{ ...publicJwk(ed25519.publicKey), alg: 'RS256' }] }), V,
      'key 0: an Ed25519 key does not fit RS256, which needs an RSA key'],
    ['a 1024-bit RSA key', JSON.stringify({ keys: [{ ...publicJwk(rsa1024.publicKey), alg: 'RS256' }] }), V,
      'key 0: a 1024-bit RSA key is too short for RS256 (at least 2048 bits)'],
    ['an unusable JWK', JSON.stringify({ keys: [{ kty: 'RSA', n: 'AQAB', alg: 'RS256' }] }), V, 'key 0 is not a usable public JWK'],
    ['an unknown kty', JSON.stringify({ keys: [{ kty: 'XYZ', alg: 'RS256' }] }), V, 'key 0 is not a usable public JWK'],
    ['the current key again', JSON.stringify({ keys: [{ ...publicJwk(p256.publicKey), alg: 'ES256' }] }), V,
      `key ${JSON.stringify(thumbprint(publicJwk(p256.publicKey)))} is the current key; list only retired keys`],
    ['another key under the current kid', JSON.stringify({ keys: [{ ...rsaJwk, kid: thumbprint(publicJwk(p256.publicKey)) }] }), V,
      /is the current key; list only retired keys$/],
    ['the same key twice', JSON.stringify({ keys: [rsaJwk, rsaJwk] }), V, 'two keys have the same kid'],
    ['two keys with one kid', JSON.stringify({ keys: [{ ...rsaJwk, kid: 'k1' }, { ...publicJwk(p384.publicKey), alg: 'ES384', kid: 'k1' }] }), V,
      'two keys have the same kid']
  ]
  for (const [label, previousKeys, variable, message] of cases) {
    assertKeyError(t, { ...base, previousKeys }, variable, message, label)
  }
  // The same retired key is audited whatever the current key is.
  assertKeyError(t, { alg: 'HS256', signingKey: HMAC_SECRET, previousKeys: 'not json', production: false }, V,
    'is not JSON (expected a JWKS document: {"keys":[…]})', 'not JSON with an HMAC current key')
  assertKeyError(t, { alg: 'HS256', signingKey: HMAC_SECRET, production: false, previousKeys: JSON.stringify({ keys: [{ kty: 'oct', k: Buffer.from(HMAC_SECRET).toString('base64url'), alg: 'HS256' }] }) },
    V, `key ${JSON.stringify(hmacKid(HMAC_SECRET))} is the current key; list only retired keys`, 'the current HMAC secret as a retired "oct" key')

  // A retired HMAC secret still verifies tokens: a weak one is as forgeable as a weak signing key.
  const weakOct = JSON.stringify({ keys: [{ kty: 'oct', k: Buffer.from('short').toString('base64url'), alg: 'HS256' }] })
  const weak = thrown(() => loadKeySet({ alg: 'HS256', signingKey: HMAC_SECRET, previousKeys: weakOct, production: true }))
  t.type(weak, KeyError, 'a 5-byte retired HS256 secret is refused in production')
  t.equal(loadKeySet({ alg: 'HS256', signingKey: HMAC_SECRET, previousKeys: weakOct, production: false }).previous.length, 1,
    'outside production it is accepted')
  // Good retired keys load.
  const good = loadKeySet({ ...base, previousKeys: JSON.stringify({ keys: [rsaJwk, { ...publicJwk(p384.publicKey), alg: 'ES384' }, { kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LQ', alg: 'HS512' }] }) })
  t.same(good.previous.map(k => k.alg), ['RS256', 'ES384', 'HS512'])
  t.equal(good.previous[2].kid, hmacKid(Buffer.from('c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LQ', 'base64url')), 'an "oct" key is named by its HMAC kid')
  t.same(good.previous[2].key, Buffer.from('c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LQ', 'base64url'))
})

t.test('jwks(): public members only, never a secret', async t => {
  // Retired keys pasted as full private JWKs: only their public halves are ever read or published.
  const privateJwks = [
    { ...rsa.privateKey.export({ format: 'jwk' }), alg: 'RS256' },
    { ...p384.privateKey.export({ format: 'jwk' }), alg: 'ES384', kid: 'ec-2025' },
    { ...ed25519.privateKey.export({ format: 'jwk' }), alg: 'EdDSA' }
  ]
  t.ok(privateJwks.every(jwk => typeof jwk.d === 'string'), 'the input holds private members')
  const octSecret = Buffer.from('retired-hmac-secret-0123456789abcdef-0123456789abcdef')
  const previousKeys = JSON.stringify({ keys: [...privateJwks, { kty: 'oct', k: octSecret.toString('base64url'), alg: 'HS256' }] })
  const keys = loadKeySet({ alg: 'ES256', signingKey: privatePem(p256.privateKey), previousKeys, production: true })
  const document = jwks(keys)
  t.equal(document.keys.length, 4, 'the current key and three retired public keys; the "oct" key is left out')
  t.same(document.keys.map(k => k.kid), [
    thumbprint(publicJwk(p256.publicKey)), thumbprint(publicJwk(rsa.publicKey)), 'ec-2025', thumbprint(publicJwk(ed25519.publicKey))
  ])
  t.strictSame(document.keys[1], { ...publicJwk(rsa.publicKey), kid: thumbprint(publicJwk(rsa.publicKey)), alg: 'RS256', use: 'sig' })
  t.strictSame(document.keys[2], { ...publicJwk(p384.publicKey), kid: 'ec-2025', alg: 'ES384', use: 'sig' })
  t.strictSame(document.keys[3], { ...publicJwk(ed25519.publicKey), kid: thumbprint(publicJwk(ed25519.publicKey)), alg: 'EdDSA', use: 'sig' })
  for (const jwk of document.keys) {
    for (const member of PRIVATE_MEMBERS) t.notOk(member in jwk, `${jwk.kid}: no "${member}"`)
    t.equal(jwk.use, 'sig')
  }
  const text = JSON.stringify(document)
  for (const jwk of privateJwks) t.notMatch(text, jwk.d as string, 'no private exponent or scalar anywhere')
  t.notMatch(text, octSecret.toString('base64url'), 'no "oct" secret')
  t.notMatch(text, /"oct"/)

  // An HMAC deployment publishes nothing of its secrets, current or retired; only retired public keys.
  const hmac = loadKeySet({ alg: 'HS256', signingKey: HMAC_SECRET, previousKeys: JSON.stringify({ keys: [{ kty: 'oct', k: octSecret.toString('base64url'), alg: 'HS256' }] }), production: true })
  t.strictSame(jwks(hmac), { keys: [] })
  const mixed = loadKeySet({ alg: 'HS512', signingKey: HMAC_SECRET, previousKeys: JSON.stringify({ keys: [{ ...publicJwk(rsa.publicKey), alg: 'RS256' }] }), production: true })
  t.same(jwks(mixed).keys.map(k => k.kty), ['RSA'])
  for (const set of [hmac, mixed]) {
    const json = JSON.stringify(jwks(set))
    t.notMatch(json, HMAC_SECRET)
    t.notMatch(json, Buffer.from(HMAC_SECRET).toString('base64url'))
  }
})

t.test('keyedVerifier: chooses among configured keys only', async t => {
  const current = loadKeySet({
    alg: 'ES256',
    signingKey: privatePem(p256.privateKey),
    previousKeys: JSON.stringify({ keys: [{ ...publicJwk(p384.publicKey), alg: 'ES384', kid: 'old' }] }),
    production: false
  })
  const tried: string[] = []
  const verify = keyedVerifier(current, key => (token) => {
    tried.push(key.kid)
    if (!token.endsWith(key.kid)) throw new Error('bad signature')
    return { header: JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()) as Record<string, unknown> }
  })
  const header = (h: Record<string, unknown>) => Buffer.from(JSON.stringify(h)).toString('base64url')
  const tokenFor = (h: Record<string, unknown>, signedBy: string) => `${header(h)}.e30.${signedBy}`
  tried.length = 0
  t.same(verify(tokenFor({ alg: 'ES384', kid: 'old' }, 'old')).header.kid, 'old', 'a retired kid picks the retired key')
  t.same(tried, ['old'], 'and only that key is tried')
  tried.length = 0
  t.throws(() => verify(tokenFor({ alg: 'ES256', kid: 'nobody' }, 'nobody')), /unknown kid/, 'an unknown kid is refused')
  t.same(tried, [], 'without trying any key')
  t.throws(() => verify(tokenFor({ alg: 'ES256', kid: 7 }, 'old')), /unknown kid/, 'a non-string kid is refused')
  t.throws(() => verify(tokenFor({ alg: 'ES256', kid: current.kid }, 'old')), /bad signature/, 'a kid picks exactly one key')
  tried.length = 0
  t.same(verify(tokenFor({ alg: 'ES384' }, 'old')).header, { alg: 'ES384' }, 'without kid, each configured key in turn')
  t.same(tried, [current.kid, 'old'])
  t.throws(() => verify(tokenFor({ alg: 'ES256' }, 'other')), /bad signature/, 'and none fits')

  // One key: the kid is still checked after the signature.
  const single = loadKeySet({ alg: 'ES256', signingKey: privatePem(p256.privateKey), production: false })
  const one = keyedVerifier(single, () => (token) => ({ header: JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()) as Record<string, unknown> }))
  t.same(one(tokenFor({ alg: 'ES256' }, 'x')).header, { alg: 'ES256' })
  t.same(one(tokenFor({ alg: 'ES256', kid: single.kid }, 'x')).header.kid, single.kid)
  for (const kid of ['nobody', null, 1, [single.kid], { kid: single.kid }]) {
    t.throws(() => one(tokenFor({ alg: 'ES256', kid }, 'x')), /unknown kid/, `kid ${JSON.stringify(kid)}`)
  }
})

t.test('generateKey: a fitting key for every algorithm', async t => {
  for (const alg of ALGORITHMS.filter(a => !a.startsWith('RS') && !a.startsWith('PS'))) {
    const key = generateKey(alg)
    const keys = loadKeySet({ alg, signingKey: key.signingKey, verifyingKey: key.verifyingKey, production: true })
    t.equal(keys.current.kid, key.kid, `${alg}: the kid generateKey reports`)
    if (alg.startsWith('HS')) {
      t.equal(key.verifyingKey, undefined, `${alg}: a secret only`)
      t.ok(Buffer.byteLength(key.signingKey) >= 64, `${alg}: long enough for HS512`)
    } else {
      t.equal(keys.kid, key.kid)
    }
  }
  t.not(generateKey('ES256').kid, generateKey('ES256').kid, 'a new key every time')
  // One RSA key only: generation is slow.
  const rsaKey = generateKey('PS256')
  t.equal(createPrivateKey(rsaKey.signingKey).asymmetricKeyDetails?.modulusLength, 2048)
  t.equal(loadKeySet({ alg: 'RS512', signingKey: rsaKey.signingKey, production: true }).kid, rsaKey.kid, 'an RSA key serves every RS* and PS* algorithm')
  t.equal(thumbprint(createPublicKey(rsaKey.signingKey).export({ format: 'jwk' }) as JsonWebKey), rsaKey.kid)
})

t.test('loadConfig: key problems are one-line ConfigErrors naming the variable, never showing the key', async t => {
  const rsaPem = privatePem(rsa.privateKey)
  const rsaPrivateJwk = { ...rsa.privateKey.export({ format: 'jwk' }), alg: 'ES256' }
  const cases: Array<[string, Record<string, string>, string, string]> = [
    ['RSA key with ES256', { JWT_ALGORITHM: 'ES256', JWT_SIGNING_KEY: rsaPem }, 'JWT_SIGNING_KEY',
      'JWT_SIGNING_KEY: an RSA key does not fit ES256, which needs an EC key on P-256'],
    ['P-384 key with ES256', { JWT_ALGORITHM: 'ES256', JWT_SIGNING_KEY: privatePem(p384.privateKey) }, 'JWT_SIGNING_KEY',
      'JWT_SIGNING_KEY: an EC key on secp384r1 does not fit ES256, which needs P-256'],
    ['Ed25519 with RS256', { JWT_ALGORITHM: 'RS256', JWT_SIGNING_KEY: privatePem(ed25519.privateKey) }, 'JWT_SIGNING_KEY',
      'JWT_SIGNING_KEY: an Ed25519 key does not fit RS256, which needs an RSA key'],
    ['1024-bit RSA', { JWT_ALGORITHM: 'RS256', JWT_SIGNING_KEY: privatePem(rsa1024.privateKey) }, 'JWT_SIGNING_KEY',
      'JWT_SIGNING_KEY: a 1024-bit RSA key is too short for RS256 (at least 2048 bits)'],
    ['a secret with RS256', { JWT_ALGORITHM: 'RS256', JWT_SIGNING_KEY: HMAC_SECRET }, 'JWT_SIGNING_KEY',
      'JWT_SIGNING_KEY: is not a PEM private key'],
    ['a PEM with HS256', { JWT_SIGNING_KEY: rsaPem }, 'JWT_SIGNING_KEY',
      'JWT_SIGNING_KEY: is a PEM key, but HS256 needs a shared secret; set JWT_ALGORITHM to the key\'s algorithm'],
    ['a PEM with literal \\n and HS512', { JWT_ALGORITHM: 'HS512', JWT_SIGNING_KEY: rsaPem.trimEnd().replaceAll('\n', '\\n') }, 'JWT_SIGNING_KEY',
      'JWT_SIGNING_KEY: is a PEM key, but HS512 needs a shared secret; set JWT_ALGORITHM to the key\'s algorithm'],
    ['a verifying key that does not match', { JWT_ALGORITHM: 'RS256', JWT_SIGNING_KEY: rsaPem, JWT_VERIFYING_KEY: publicPem(rsaOther.publicKey) },
      'JWT_VERIFYING_KEY', 'JWT_VERIFYING_KEY: does not match JWT_SIGNING_KEY: it cannot verify what the signing key signs'],
    ['a short HS384 key in production', { JWT_ALGORITHM: 'HS384', JWT_SIGNING_KEY: 'k'.repeat(47), NODE_ENV: 'production' }, 'JWT_SIGNING_KEY',
      'JWT_SIGNING_KEY: an HS384 key must be at least 48 bytes when NODE_ENV=production (got 47)'],
    ['retired keys not JSON', { JWT_SIGNING_KEY: HMAC_SECRET, JWT_PREVIOUS_VERIFYING_KEYS: `{${HMAC_SECRET}` }, 'JWT_PREVIOUS_VERIFYING_KEYS',
      'JWT_PREVIOUS_VERIFYING_KEYS: is not JSON (expected a JWKS document: {"keys":[…]})'],
    ['a private retired key with the wrong alg', { JWT_SIGNING_KEY: HMAC_SECRET, JWT_PREVIOUS_VERIFYING_KEYS: JSON.stringify({ keys: [rsaPrivateJwk] }) },
      'JWT_PREVIOUS_VERIFYING_KEYS', 'JWT_PREVIOUS_VERIFYING_KEYS: key 0: an RSA key does not fit ES256, which needs an EC key on P-256'],
    ['a retired key without alg', { JWT_SIGNING_KEY: HMAC_SECRET, JWT_PREVIOUS_VERIFYING_KEYS: JSON.stringify({ keys: [{ ...rsaPrivateJwk, alg: undefined }] }) },
      'JWT_PREVIOUS_VERIFYING_KEYS', `JWT_PREVIOUS_VERIFYING_KEYS: key 0 needs an "alg", one of ${ALGORITHMS.join(', ')}`]
  ]
  const secrets = [
    ...rsaPem.split('\n').filter(line => line !== '' && !line.startsWith('-----')).slice(0, 4),
    HMAC_SECRET, rsaPrivateJwk.d as string, rsaPrivateJwk.p as string
  ]
  for (const [label, env, variable, message] of cases) {
    const err = thrown(() => loadConfig(env)) as ConfigError
    t.type(err, ConfigError, `${label}: a ConfigError`)
    t.equal(err?.variable, variable, `${label}: variable`)
    t.equal(err?.message, message, `${label}: message`)
    t.notMatch(err?.message, /\n/, `${label}: one line`)
    for (const secret of secrets) {
      t.notOk(err?.message.includes(secret), `${label}: the key is not in the message`)
      t.notOk(String(err?.stack).includes(secret), `${label}: nor in the stack`)
    }
  }
  // The same keys, fitting, load.
  t.equal(loadConfig({ JWT_ALGORITHM: 'RS256', JWT_SIGNING_KEY: rsaPem, JWT_VERIFYING_KEY: publicPem(rsa.publicKey), NODE_ENV: 'production' }).JWT_ALGORITHM, 'RS256')
  t.equal(loadConfig({ JWT_ALGORITHM: 'ES384', JWT_SIGNING_KEY: privatePem(p384.privateKey).replaceAll('\n', '\\n') }).JWT_ALGORITHM, 'ES384',
    'a PEM with literal \\n')

  // A verifying key of another type: a ConfigError, not an uncaught OpenSSL error.
  const other = thrown(() => loadConfig({ JWT_ALGORITHM: 'ES256', JWT_SIGNING_KEY: privatePem(p256.privateKey), JWT_VERIFYING_KEY: publicPem(ed25519.publicKey) }))
  t.type(other, ConfigError, 'an Ed25519 JWT_VERIFYING_KEY with ES256 is a ConfigError')

  // In development (no JWT_SIGNING_KEY) the retired keys are audited at start-up all the same.
  for (const previous of ['not json', '{"keys":[{"kty":"oct","k":"AAAA","alg":"RS256"}]}']) {
    const err = thrown(() => loadConfig({ JWT_ALGORITHM: 'ES256', JWT_PREVIOUS_VERIFYING_KEYS: previous }))
    t.type(err, ConfigError, `development, JWT_PREVIOUS_VERIFYING_KEYS ${previous}: a ConfigError`)
    t.equal((err as ConfigError | undefined)?.variable, 'JWT_PREVIOUS_VERIFYING_KEYS', 'naming the variable')
  }
})

// ---------------------------------------------------------------------------------------------
// The CLI: keys generate

interface Run { code: number, stdout: string, stderr: string }

async function cli (argv: string[]): Promise<Run> {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (chunk: Buffer) => { out += chunk.toString('utf8') })
  stderr.on('data', (chunk: Buffer) => { err += chunk.toString('utf8') })
  const io: CliIo = { env: {}, stdin: new PassThrough(), stdout, stderr }
  const code = await runCli(argv, io)
  stdout.end()
  stderr.end()
  await Promise.all([finished(stdout), finished(stderr)])
  return { code, stdout: out, stderr: err }
}

/** The blocks of `keys generate` output: the PEMs, the kid and the JWK line. */
function parseGenerated (stdout: string) {
  const pems = stdout.match(/-----BEGIN [A-Z ]+-----\n[\s\S]+?\n-----END [A-Z ]+-----\n/g) ?? []
  const kid = /^# kid: (\S+)$/m.exec(stdout)?.[1]
  const lines = stdout.trimEnd().split('\n')
  return { pems, kid, lines, last: lines[lines.length - 1] }
}

t.test('keys generate --algorithm ES256: a PEM pair, the kid and a JWK that loadKeySet accepts', async t => {
  const run = await cli(['keys', 'generate', '--algorithm', 'ES256'])
  t.equal(run.code, 0)
  t.equal(run.stderr, '')
  const { pems, kid, lines, last } = parseGenerated(run.stdout)
  t.equal(lines[0], '# JWT_ALGORITHM=ES256')
  t.equal(lines[1], `# kid: ${kid}`)
  t.equal(pems.length, 2, 'a private and a public PEM')
  const [signingKey, verifyingKey] = pems as [string, string]
  t.match(signingKey, /^-----BEGIN PRIVATE KEY-----\n/)
  t.match(verifyingKey, /^-----BEGIN PUBLIC KEY-----\n/)
  const privateKey = createPrivateKey(signingKey)
  t.equal(privateKey.asymmetricKeyType, 'ec')
  t.equal(privateKey.asymmetricKeyDetails?.namedCurve, 'prime256v1', 'on P-256')
  t.equal(publicPem(createPublicKey(privateKey)), verifyingKey, 'the public key is the private key\'s')
  t.ok(run.stdout.includes('# JWT_SIGNING_KEY'), 'labelled')
  t.ok(run.stdout.endsWith('\n'))

  const jwk = JSON.parse(last) as JsonWebKey & { kid: string, alg: string, use: string }
  t.strictSame(jwk, { ...publicJwk(createPublicKey(privateKey)), kid, alg: 'ES256', use: 'sig' }, 'the public JWK, with kid, alg and use')
  t.notOk('d' in jwk, 'no private member')
  t.equal(kid, thumbprint(jwk), 'the kid is the RFC 7638 thumbprint')
  t.equal(kid, await calculateJwkThumbprint(jwk as JWK, 'sha256'))

  const keys = loadKeySet({ alg: 'ES256', signingKey, verifyingKey, production: true })
  t.equal(keys.kid, kid, 'the key pair loads with the printed kid')
  // Retired later: the printed JWK is a valid JWT_PREVIOUS_VERIFYING_KEYS entry.
  const rotated: KeySet = loadKeySet({ alg: 'ES256', signingKey: privatePem(p256Other.privateKey), previousKeys: JSON.stringify({ keys: [jwk] }), production: true })
  t.equal(rotated.previous[0].kid, kid)
  t.equal(rotated.previous[0].key, verifyingKey)
  t.same(jwks(rotated).keys.map(k => k.kid), [thumbprint(publicJwk(p256Other.publicKey)), kid])
  // And via the environment, as an operator would paste it.
  t.equal(loadConfig({ JWT_ALGORITHM: 'ES256', JWT_SIGNING_KEY: signingKey, JWT_VERIFYING_KEY: verifyingKey, NODE_ENV: 'production' }).JWT_ALGORITHM, 'ES256')

  // The printed private key runs an app: its tokens carry the printed kid and authenticate.
  const app = await build(t, { JWT_ALGORITHM: 'ES256', JWT_SIGNING_KEY: signingKey })
  await createUser(app)
  const { access } = await obtainPair(app)
  t.same(decodeParts(access).header, { alg: 'ES256', typ: 'JWT', kid })
  const [header, payload, signature] = access.split('.')
  t.ok(verifyWith('ES256', verifyingKey, `${header}.${payload}`, Buffer.from(signature, 'base64url')), 'the printed public key verifies the token')
  const hello = await app.inject({ method: 'GET', url: '/api/hello/', headers: bearer(access) })
  t.equal(hello.statusCode, 200)
  t.same(hello.json(), { msg: 'Hello Peter Parker' })
  const jwksRes = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  t.same(jwksRes.json(), { keys: [jwk] }, 'the app publishes the printed JWK')
})

t.test('keys generate: the other key types', async t => {
  const hs = await cli(['keys', 'generate', '--algorithm', 'HS512'])
  t.equal(hs.code, 0)
  const { pems, kid, lines } = parseGenerated(hs.stdout)
  t.equal(pems.length, 0, 'no PEM for a shared secret')
  t.equal(lines.length, 4)
  t.equal(lines[0], '# JWT_ALGORITHM=HS512')
  t.equal(lines[2], '# JWT_SIGNING_KEY (a shared secret: keep it secret):')
  const secret = lines[3] as string
  t.match(secret, /^[\w-]{86}$/, '64 random bytes, base64url')
  t.equal(kid, hmacKid(secret), 'the HMAC kid')
  t.equal(loadConfig({ JWT_ALGORITHM: 'HS512', JWT_SIGNING_KEY: secret, NODE_ENV: 'production' }).JWT_SIGNING_KEY, secret, 'strong enough for production HS512')

  const ed = await cli(['keys', 'generate', '--algorithm', 'EdDSA'])
  t.equal(ed.code, 0)
  const edParts = parseGenerated(ed.stdout)
  t.equal(edParts.pems.length, 2)
  const edJwk = JSON.parse(edParts.last) as Record<string, unknown>
  t.same({ kty: edJwk.kty, crv: edJwk.crv, alg: edJwk.alg, kid: edJwk.kid }, { kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', kid: edParts.kid })
  t.equal(loadKeySet({ alg: 'EdDSA', signingKey: edParts.pems[0] as string, production: true }).kid, edParts.kid)

  const twice = await Promise.all([cli(['keys', 'generate', '--algorithm', 'ES384']), cli(['keys', 'generate', '--algorithm', 'ES384'])])
  t.not(parseGenerated(twice[0].stdout).kid, parseGenerated(twice[1].stdout).kid, 'a new key every run')
})

t.test('keys generate: usage errors exit 2', async t => {
  const message = `Error: --algorithm must be one of ${ALGORITHMS.join(', ')}\n`
  for (const algorithm of ['none', 'NONE', 'hs256', 'ES256K', 'Ed25519', 'RSA', '']) {
    const run = await cli(['keys', 'generate', '--algorithm', algorithm])
    t.equal(run.code, 2, `--algorithm ${JSON.stringify(algorithm)}`)
    t.equal(run.stderr, message)
    t.equal(run.stdout, '', 'no key printed')
  }
  const missing = await cli(['keys', 'generate'])
  t.equal(missing.code, 2, 'no --algorithm')
  t.equal(missing.stderr, message)
  const noSub = await cli(['keys', '--algorithm', 'ES256'])
  t.equal(noSub.code, 2, 'no subcommand')
  t.match(noSub.stderr, /^Error: keys needs the subcommand generate\n/)
  t.equal(noSub.stdout, '')
  const extra = await cli(['keys', 'generate', 'more', '--algorithm', 'ES256'])
  t.equal(extra.code, 2, 'an extra argument')
  const option = await cli(['keys', 'generate', '--algorithm'])
  t.equal(option.code, 2, '--algorithm without a value')
  t.equal(option.stdout, '')
})
