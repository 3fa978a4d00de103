// Signing and verifying keys: algorithms, key checks, key ids, JWKS; mirrors simplejwt's backends.py key handling
import {
  createHash, createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, randomBytes,
  sign as cryptoSign, verify as cryptoVerify, type JsonWebKey
} from 'node:crypto'

export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const
export const ALGORITHMS = [
  ...HMAC_ALGORITHMS,
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'
] as const
export type Algorithm = typeof ALGORITHMS[number]

/** Bytes of the hash output of each HMAC algorithm: the smallest safe key (RFC 7518 §3.2). */
export const HMAC_KEY_BYTES: Record<string, number> = { HS256: 32, HS384: 48, HS512: 64 }

/** The key type each algorithm needs, as Node names it, and the curve where there is one. */
const KEY_TYPES: Record<Algorithm, { type: string, curve?: string, jwkCurve?: string }> = {
  HS256: { type: 'secret' },
  HS384: { type: 'secret' },
  HS512: { type: 'secret' },
  RS256: { type: 'rsa' },
  RS384: { type: 'rsa' },
  RS512: { type: 'rsa' },
  PS256: { type: 'rsa' },
  PS384: { type: 'rsa' },
  PS512: { type: 'rsa' },
  ES256: { type: 'ec', curve: 'prime256v1', jwkCurve: 'P-256' },
  ES384: { type: 'ec', curve: 'secp384r1', jwkCurve: 'P-384' },
  ES512: { type: 'ec', curve: 'secp521r1', jwkCurve: 'P-521' },
  EdDSA: { type: 'ed25519', jwkCurve: 'Ed25519' }
}

/** RSA keys shorter than this are refused (RFC 7518 §3.3). */
export const MIN_RSA_BITS = 2048

export const isHmac = (alg: Algorithm): boolean => alg.startsWith('HS')
export const isAlgorithm = (value: unknown): value is Algorithm => (ALGORITHMS as readonly unknown[]).includes(value)

/** A key problem, named by the setting it came from; start-up reports it as one line. */
export class KeyError extends Error {
  constructor (readonly variable: string, problem: string) {
    super(problem)
    this.name = 'KeyError'
  }
}

/** A published public key: a JWK with its id, algorithm and use. */
export type PublicJwk = JsonWebKey & { kty: string, kid: string, alg: string, use: 'sig' }

/** One key that verifies tokens: the current one, or a retired one kept for rotation. */
export interface VerifyingKey {
  kid: string
  alg: Algorithm
  /** What fast-jwt verifies with: an HMAC secret, or a public key in PEM. */
  key: string | Buffer
  /** The public JWK, for the JWKS document; undefined for HMAC secrets, which are never published. */
  jwk?: PublicJwk
}

/** Everything the token backend needs to sign and verify. */
export interface KeySet {
  alg: Algorithm
  /** What fast-jwt signs with: the HMAC secret, or the private key in PEM. */
  signingKey: string
  /** The `kid` header of new tokens; undefined keeps simplejwt's exact `{"alg","typ"}` header. */
  kid: string | undefined
  current: VerifyingKey
  /** Retired keys, accepted for verification only. */
  previous: VerifyingKey[]
}

const b64url = (bytes: Buffer) => bytes.toString('base64url')

/** The RFC 7638 thumbprint of a public JWK: SHA-256 over its required members in lexicographic order. */
export function thumbprint (jwk: JsonWebKey): string {
  const required: Record<string, string[]> = { RSA: ['e', 'kty', 'n'], EC: ['crv', 'kty', 'x', 'y'], OKP: ['crv', 'kty', 'x'] }
  const members = required[jwk.kty as string]
  const canonical = JSON.stringify(Object.fromEntries(members.map(name => [name, jwk[name as keyof JsonWebKey]])))
  return b64url(createHash('sha256').update(canonical).digest())
}

/**
 * A key id for an HMAC secret that reveals nothing a token signature does not: an HMAC of a fixed
 * label under the secret (a thumbprint of an `oct` JWK would hash the bare secret).
 */
export function hmacKid (secret: string | Buffer): string {
  return b64url(createHmac('sha256', secret).update('fastify-simplejwt key id').digest()).slice(0, 22)
}

/** Checks that an asymmetric key object is of the kind the algorithm needs. */
function checkKeyFits (key: KeyObject, alg: Algorithm, variable: string): void {
  const want = KEY_TYPES[alg]
  const type = key.asymmetricKeyType
  // RSA-PSS-only keys (id-RSASSA-PSS) cannot be published as JWKs here: ask for a plain RSA key.
  if (type === 'rsa-pss') throw new KeyError(variable, 'is an RSA-PSS-only key; use a plain RSA key (PKCS#8 "PRIVATE KEY" / SPKI "PUBLIC KEY"), which PS* algorithms accept')
  const details = key.asymmetricKeyDetails ?? {}
  if (type !== want.type) {
    const actual: Record<string, string> = { rsa: 'an RSA key', ec: `an EC key on ${details.namedCurve ?? 'an unknown curve'}`, ed25519: 'an Ed25519 key' }
    const needed: Record<string, string> = { rsa: 'an RSA key', ec: `an EC key on ${want.jwkCurve}`, ed25519: 'an Ed25519 key', secret: 'a shared secret (an "oct" key)' }
    throw new KeyError(variable, `${actual[type ?? ''] ?? `a ${type ?? key.type} key`} does not fit ${alg}, which needs ${needed[want.type]}`)
  }
  if (want.curve !== undefined && details.namedCurve !== want.curve) {
    throw new KeyError(variable, `an EC key on ${details.namedCurve ?? 'an unknown curve'} does not fit ${alg}, which needs ${want.jwkCurve}`)
  }
  if (want.type === 'rsa' && (details.modulusLength ?? 0) < MIN_RSA_BITS) {
    throw new KeyError(variable, `a ${details.modulusLength ?? 0}-bit RSA key is too short for ${alg} (at least ${MIN_RSA_BITS} bits)`)
  }
}

function publicVerifyingKey (publicKey: KeyObject, alg: Algorithm, kid?: string): VerifyingKey {
  const jwk = publicKey.export({ format: 'jwk' })
  return {
    kid: kid ?? thumbprint(jwk),
    alg,
    key: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    jwk: { ...jwk, kty: jwk.kty as string, kid: kid ?? thumbprint(jwk), alg, use: 'sig' }
  }
}

const SIGNATURE_ALGORITHMS: Record<string, { hash: string | null, pss?: boolean, dsa?: boolean }> = {
  RS256: { hash: 'sha256' },
  RS384: { hash: 'sha384' },
  RS512: { hash: 'sha512' },
  PS256: { hash: 'sha256', pss: true },
  PS384: { hash: 'sha384', pss: true },
  PS512: { hash: 'sha512', pss: true },
  ES256: { hash: 'sha256' },
  ES384: { hash: 'sha384' },
  ES512: { hash: 'sha512' },
  EdDSA: { hash: null }
}

/** True when the public key verifies what the private key signs, for this algorithm. */
function keysMatch (privateKey: KeyObject, publicKey: KeyObject, alg: Algorithm): boolean {
  const { hash, pss } = SIGNATURE_ALGORITHMS[alg]
  const message = Buffer.from('fastify-simplejwt key check')
  const options = pss === true ? { padding: 6, saltLength: 32 } : {}
  try {
    const signature = cryptoSign(hash, message, { key: privateKey, ...options })
    return cryptoVerify(hash, message, { key: publicKey, ...options }, signature)
  } catch {
    return false
  }
}

function parsePrivateKey (pem: string, variable: string): KeyObject {
  try {
    return createPrivateKey(pem)
  } catch {
    throw new KeyError(variable, 'is not a PEM private key')
  }
}

function parsePublicKey (pem: string, variable: string): KeyObject {
  try {
    const key = createPublicKey(pem)
    if (pem.includes('PRIVATE KEY')) throw new Error('private')
    return key
  } catch {
    throw new KeyError(variable, 'is not a PEM public key')
  }
}

/**
 * Retired keys from a JWKS document (`{"keys":[…]}`), each with its `alg`; secrets shorter than their
 * hash refused when `strong` (production, unless JWT_ACCEPT_SHORT_SIGNING_KEY).
 */
export function parsePreviousKeys (text: string, strong: boolean, variable = 'JWT_PREVIOUS_VERIFYING_KEYS'): VerifyingKey[] {
  let document: unknown
  try {
    document = JSON.parse(text)
  } catch {
    throw new KeyError(variable, 'is not JSON (expected a JWKS document: {"keys":[…]})')
  }
  const keys = (document as { keys?: unknown })?.keys
  if (!Array.isArray(keys)) throw new KeyError(variable, 'must be a JWKS document: {"keys":[…]}')
  return keys.map((jwk: Record<string, unknown>, index) => {
    const where = `key ${index}`
    if (jwk === null || typeof jwk !== 'object') throw new KeyError(variable, `${where} is not an object`)
    if (!isAlgorithm(jwk.alg)) throw new KeyError(variable, `${where} needs an "alg", one of ${ALGORITHMS.join(', ')}`)
    const kid = typeof jwk.kid === 'string' && jwk.kid !== '' ? jwk.kid : undefined
    if (jwk.kty === 'oct') {
      if (!isHmac(jwk.alg) || typeof jwk.k !== 'string') throw new KeyError(variable, `${where}: an "oct" key needs an HS* "alg" and a "k"`)
      const secret = Buffer.from(jwk.k, 'base64url')
      // A retired secret verifies tokens like the current one: the same strength rule applies.
      if (strong && secret.length < HMAC_KEY_BYTES[jwk.alg]) {
        throw new KeyError(variable, `${where}: an ${jwk.alg} secret must be at least ${HMAC_KEY_BYTES[jwk.alg]} bytes when NODE_ENV=production (got ${secret.length})`)
      }
      return { kid: kid ?? hmacKid(secret), alg: jwk.alg, key: secret }
    }
    let publicKey: KeyObject
    try {
      // Only the public members are read, whatever else the document holds.
      const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = jwk
      publicKey = createPublicKey({ key: publicJwk as JsonWebKey, format: 'jwk' })
    } catch {
      throw new KeyError(variable, `${where} is not a usable public JWK`)
    }
    try {
      checkKeyFits(publicKey, jwk.alg, variable)
    } catch (err) {
      throw new KeyError(variable, `${where}: ${(err as Error).message}`)
    }
    return publicVerifyingKey(publicKey, jwk.alg, kid)
  })
}

export interface KeySettings {
  alg: Algorithm
  /** The HMAC secret or PEM private key. */
  signingKey: string
  /** A PEM public key; derived from the private key when absent. */
  verifyingKey?: string
  /** A JWKS document of retired keys. */
  previousKeys?: string
  production: boolean
  /** Production accepts HMAC secrets shorter than their hash (JWT_ACCEPT_SHORT_SIGNING_KEY: a Django cutover). */
  acceptShortKeys?: boolean
}

/** True when HMAC secrets shorter than their hash are refused: production, unless accepted for a Django cutover. */
export const strongKeysOnly = (settings: Pick<KeySettings, 'production' | 'acceptShortKeys'>): boolean =>
  settings.production && settings.acceptShortKeys !== true

/**
 * Checks and assembles the configured keys, failing closed: a key that does not fit the algorithm,
 * a verifying key that does not match the signing key, a weak key in production, or a malformed
 * retired key throws a KeyError naming the setting.
 */
export function loadKeySet (settings: KeySettings): KeySet {
  const { alg, signingKey } = settings
  const strong = strongKeysOnly(settings)
  const previous = settings.previousKeys === undefined ? [] : parsePreviousKeys(settings.previousKeys, strong)
  let current: VerifyingKey
  if (isHmac(alg)) {
    if (signingKey.includes('-----BEGIN')) {
      throw new KeyError('JWT_SIGNING_KEY', `is a PEM key, but ${alg} needs a shared secret; set JWT_ALGORITHM to the key's algorithm`)
    }
    if (settings.verifyingKey !== undefined && settings.verifyingKey !== signingKey) {
      throw new KeyError('JWT_VERIFYING_KEY', `must be unset (or equal to JWT_SIGNING_KEY) for ${alg}`)
    }
    const length = Buffer.byteLength(signingKey)
    if (strong && length < HMAC_KEY_BYTES[alg]) {
      throw new KeyError('JWT_SIGNING_KEY', `an ${alg} key must be at least ${HMAC_KEY_BYTES[alg]} bytes when NODE_ENV=production (got ${length})`)
    }
    current = { kid: hmacKid(signingKey), alg, key: signingKey }
  } else {
    const privateKey = parsePrivateKey(signingKey, 'JWT_SIGNING_KEY')
    checkKeyFits(privateKey, alg, 'JWT_SIGNING_KEY')
    const publicKey = settings.verifyingKey === undefined ? createPublicKey(privateKey) : parsePublicKey(settings.verifyingKey, 'JWT_VERIFYING_KEY')
    checkKeyFits(publicKey, alg, 'JWT_VERIFYING_KEY')
    if (!keysMatch(privateKey, publicKey, alg)) {
      throw new KeyError('JWT_VERIFYING_KEY', 'does not match JWT_SIGNING_KEY: it cannot verify what the signing key signs')
    }
    current = publicVerifyingKey(publicKey, alg)
  }
  for (const key of previous) {
    if (key.kid === current.kid) throw new KeyError('JWT_PREVIOUS_VERIFYING_KEYS', `key ${JSON.stringify(key.kid)} is the current key; list only retired keys`)
  }
  if (new Set(previous.map(k => k.kid)).size !== previous.length) {
    throw new KeyError('JWT_PREVIOUS_VERIFYING_KEYS', 'two keys have the same kid')
  }
  // simplejwt's header is exactly {"alg","typ"}; a kid is added only where a verifier must choose a key.
  const kid = !isHmac(alg) || previous.length > 0 ? current.kid : undefined
  return { alg, signingKey: isHmac(alg) ? signingKey : privateKeyPem(signingKey), kid, current, previous }
}

function privateKeyPem (pem: string): string {
  return createPrivateKey(pem).export({ type: 'pkcs8', format: 'pem' }).toString()
}

/** The public JWKS document: current and retired public keys, never an HMAC secret. */
export function jwks (keys: KeySet): { keys: PublicJwk[] } {
  return { keys: [keys.current, ...keys.previous].flatMap(k => k.jwk === undefined ? [] : [k.jwk]) }
}

/** A new secret or key pair for an algorithm, as `keys generate` prints it and development start-up stores it. */
export function generateKey (alg: Algorithm): { signingKey: string, verifyingKey?: string, kid: string } {
  if (isHmac(alg)) {
    const secret = b64url(randomBytes(64))
    return { signingKey: secret, kid: hmacKid(secret) }
  }
  const want = KEY_TYPES[alg]
  const pair = want.type === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : want.type === 'ec'
      ? generateKeyPairSync('ec', { namedCurve: want.curve as string })
      : generateKeyPairSync('ed25519')
  const publicKey = pair.publicKey
  return {
    signingKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    verifyingKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    kid: thumbprint(publicKey.export({ format: 'jwk' }))
  }
}

/** Verifies a token with one key; throws when it does not verify. */
export type Verify<T> = (token: string) => T

/**
 * Chooses the key for a token among the configured ones only (RFC 8725 §3.10): by its `kid` when it
 * has one (an unknown kid is refused, never fetched), else each configured key in turn. `jku`, `x5u`
 * and `jwk` headers are never followed; tokens carrying them are refused by the token backend.
 */
export function keyedVerifier<T extends { header: Record<string, unknown> }> (keys: KeySet, verifierFor: (key: VerifyingKey) => Verify<T>): Verify<T> {
  const current = verifierFor(keys.current)
  if (keys.previous.length === 0) {
    // One key: no choice to make, but a kid naming another key is still refused.
    return (token) => {
      const decoded = current(token)
      const kid = decoded.header.kid
      if (kid !== undefined && kid !== keys.current.kid) throw new Error('unknown kid')
      return decoded
    }
  }
  const byKid = new Map<string, Verify<T>>([[keys.current.kid, current]])
  for (const key of keys.previous) byKid.set(key.kid, verifierFor(key))
  const all = [...byKid.values()]
  return (token) => {
    const header = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8')) as Record<string, unknown>
    if (header.kid !== undefined) {
      const verify = typeof header.kid === 'string' ? byKid.get(header.kid) : undefined
      if (verify === undefined) throw new Error('unknown kid')
      return verify(token)
    }
    let failure: unknown
    for (const verify of all) {
      try {
        return verify(token)
      } catch (err) {
        failure = err
      }
    }
    throw failure
  }
}
