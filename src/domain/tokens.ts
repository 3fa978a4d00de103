// Token kinds, claims and their checks; mirrors rest_framework_simplejwt/tokens.py and backends.py
import { isUtf8 } from 'node:buffer'
import { randomUUID } from 'node:crypto'
import { ServiceUnavailable, TokenError, TOKEN_MESSAGES } from './errors.js'
import type { Config } from './settings.js'

export type TokenType = 'access' | 'refresh' | 'sliding'
export type Claims = Record<string, unknown>
export type TokenSettings = Pick<Config,
  'ACCESS_TOKEN_LIFETIME' | 'REFRESH_TOKEN_LIFETIME' | 'JWT_AUDIENCE' | 'JWT_ISSUER' | 'JWT_LEEWAY' |
  'USER_ID_CLAIM' | 'TOKEN_TYPE_CLAIM' | 'JTI_CLAIM'> &
  Partial<Pick<Config, 'SLIDING_TOKEN_LIFETIME' | 'SLIDING_TOKEN_REFRESH_LIFETIME'>>

/** simplejwt's SLIDING_TOKEN_REFRESH_EXP_CLAIM: until when a sliding token may be refreshed. */
export const REFRESH_EXP_CLAIM = 'refresh_exp'

/** The user a `tokenClaims` hook sees (simplejwt's get_token(user)): the user row without its password. */
export interface ClaimsUser {
  id: number
  username: string
  firstName: string
  lastName: string
  email: string
  isStaff: boolean
  isSuperuser: boolean
}

/**
 * The claims an application adds to its tokens, declared by declaration merging so that the
 * `tokenClaims` hook and `request.user.claims` are typed with them:
 * `declare module 'fastify-simplejwt' { interface CustomClaims { tenant: string } }`.
 * Tokens minted before the hook added a claim lack it: declare such a claim optional.
 */
export interface CustomClaims {}

/**
 * simplejwt's get_token override: extra claims for both tokens of a login (and sliding tokens).
 * May be async (claims read from the application's database); it runs before the user's row is
 * locked, within TOKEN_CLAIMS_TIMEOUT_MS.
 */
export type TokenClaimsHook = (user: ClaimsUser) => (Claims & CustomClaims) | Promise<Claims & CustomClaims>

/** How long a login waits for the tokenClaims hook before it answers 503. */
export const TOKEN_CLAIMS_TIMEOUT_MS = 5_000

/** Refused at registration: a tokenClaims that is no function would only fail at the first login. */
export function checkTokenClaimsHook (hook: unknown): asserts hook is TokenClaimsHook | undefined {
  if (hook !== undefined && typeof hook !== 'function') {
    throw new TypeError(`fastify-simplejwt: the tokenClaims option must be a function (user) => claims, or an async one; got ${hook === null ? 'null' : typeof hook}`)
  }
}

/** Claims a `tokenClaims` hook may never set: the ones every token check relies on. */
export function reservedClaims (settings: TokenSettings): Set<string> {
  return new Set([settings.TOKEN_TYPE_CLAIM, 'exp', 'iat', settings.JTI_CLAIM, 'jti', settings.USER_ID_CLAIM,
    'aud', 'iss', 'nbf', 'sub', REFRESH_EXP_CLAIM])
}

/** The longest token we look at; anything longer is refused before any parsing. */
export const MAX_TOKEN_LENGTH = 8192
/** Python's datetime cannot go past year 9999; simplejwt crashes there, we refuse (spec D5). */
const MAX_EPOCH = 253402300799

const SEGMENT = /^[\w-]+$/

/** A JWT ID as simplejwt makes it: uuid4().hex, 32 lowercase hex characters. */
export function newJti (): string {
  return randomUUID().replaceAll('-', '')
}

/**
 * True when the token is three canonical base64url segments without padding (RFC 7515 §2, spec D3):
 * any other character, `=`, or non-zero trailing bits would let one token have several spellings.
 * The header and payload must be UTF-8 (RFC 7515 §5.2), which PyJWT enforces by decoding them strictly.
 */
export function isCompactJws (token: string): boolean {
  if (token.length > MAX_TOKEN_LENGTH) return false
  const segments = token.split('.')
  if (segments.length !== 3) return false
  for (let i = 0; i < 3; i++) {
    const segment = segments[i]
    if (!SEGMENT.test(segment)) return false
    const bytes = Buffer.from(segment, 'base64url')
    if (bytes.toString('base64url') !== segment) return false
    if (i < 2 && !isUtf8(bytes)) return false
  }
  return true
}

/** The claims of a new token, in simplejwt's order: token_type, exp, iat, jti, user_id, aud, iss. */
export function newClaims (type: TokenType, userId: number, nowMs: number, settings: TokenSettings, extra: Claims = {}): Claims {
  const iat = Math.floor(nowMs / 1000)
  const lifetime = type === 'access'
    ? settings.ACCESS_TOKEN_LIFETIME
    : type === 'sliding' ? settings.SLIDING_TOKEN_LIFETIME ?? 300 : settings.REFRESH_TOKEN_LIFETIME
  const claims: Claims = {
    [settings.TOKEN_TYPE_CLAIM]: type,
    exp: iat + lifetime,
    iat,
    [settings.JTI_CLAIM]: newJti()
  }
  // SlidingToken.__init__ sets refresh_exp before for_user sets the user id.
  if (type === 'sliding') claims[REFRESH_EXP_CLAIM] = iat + (settings.SLIDING_TOKEN_REFRESH_LIFETIME ?? 86400)
  claims[settings.USER_ID_CLAIM] = userId
  return withAudience({ ...claims, ...extra }, settings)
}

/**
 * The claims of the access token minted from a refresh token (RefreshToken.access_token): a fresh
 * type, exp and jti, and every other claim copied, including the refresh token's `iat`.
 */
export function accessClaimsFromRefresh (refresh: Claims, nowMs: number, settings: TokenSettings): Claims {
  const claims: Claims = {
    [settings.TOKEN_TYPE_CLAIM]: 'access',
    exp: Math.floor(nowMs / 1000) + settings.ACCESS_TOKEN_LIFETIME,
    iat: Math.floor(nowMs / 1000),
    [settings.JTI_CLAIM]: newJti()
  }
  const noCopy = new Set([settings.TOKEN_TYPE_CLAIM, 'exp', settings.JTI_CLAIM, 'jti'])
  for (const [claim, value] of Object.entries(refresh)) {
    if (!noCopy.has(claim)) claims[claim] = value
  }
  return withAudience(claims, settings)
}

function withAudience (claims: Claims, settings: TokenSettings): Claims {
  if (settings.JWT_AUDIENCE !== undefined) claims.aud = settings.JWT_AUDIENCE
  if (settings.JWT_ISSUER !== undefined) claims.iss = settings.JWT_ISSUER
  return claims
}

function isEpoch (value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && Math.abs(value) <= MAX_EPOCH
}

/**
 * Checks the registered claims as PyJWT does for simplejwt (RFC 7519 §4.1), then simplejwt's own
 * Token.verify(): exp present, jti present, and the token type when one is expected.
 * Throws TokenError with simplejwt's message; claim types are checked too (spec D5).
 */
export function checkClaims (payload: Claims, nowMs: number, settings: TokenSettings, expectedType?: TokenType): void {
  const leewayMs = settings.JWT_LEEWAY * 1000
  const { exp, iat, nbf } = payload
  // RFC 7519 §4.1.4: at or after exp the token must not be accepted.
  if (exp !== undefined && (!isEpoch(exp) || exp * 1000 <= nowMs - leewayMs)) throw new TokenError(TOKEN_MESSAGES.invalid)
  // PyJWT >= 2.6 refuses a token issued in the future, and honours nbf (§4.1.5, §4.1.6).
  if (iat !== undefined && (!isEpoch(iat) || iat * 1000 > nowMs + leewayMs)) throw new TokenError(TOKEN_MESSAGES.invalid)
  if (nbf !== undefined && (!isEpoch(nbf) || nbf * 1000 > nowMs + leewayMs)) throw new TokenError(TOKEN_MESSAGES.invalid)
  if (settings.JWT_ISSUER !== undefined && payload.iss !== settings.JWT_ISSUER) throw new TokenError(TOKEN_MESSAGES.invalid)
  if (settings.JWT_AUDIENCE !== undefined && !hasAudience(payload.aud, settings.JWT_AUDIENCE)) throw new TokenError(TOKEN_MESSAGES.invalid)

  if (exp === undefined) throw new TokenError(TOKEN_MESSAGES.noExp)
  const jti = payload[settings.JTI_CLAIM]
  if (jti === undefined) throw new TokenError(TOKEN_MESSAGES.noId)
  // The jti keys the blacklist (a 255-character column in simplejwt).
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 255) throw new TokenError(TOKEN_MESSAGES.invalid)
  if (expectedType !== undefined) {
    const type = payload[settings.TOKEN_TYPE_CLAIM]
    if (type === undefined) throw new TokenError(TOKEN_MESSAGES.noType)
    if (type !== expectedType) throw new TokenError(TOKEN_MESSAGES.wrongType)
  }
}

// RFC 7519 §4.1.3: aud is a string or an array of strings, one of which must be ours.
function hasAudience (aud: unknown, audience: string): boolean {
  if (typeof aud === 'string') return aud === audience
  return Array.isArray(aud) && aud.every(a => typeof a === 'string') && aud.includes(audience)
}

/**
 * The user id a verified token names, or undefined when it names none recognisably: it must be a
 * positive integer written as a plain JSON integer literal, so `"1"`, `1.0`, `1e0`, `true`, `[1]`
 * and 2^70 are all refused (spec D4). The literal is read from the token's own payload text.
 */
export function userIdOf (token: string, payload: Claims, claim: string): number | undefined {
  const value = payload[claim]
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) return undefined
  const json = Buffer.from(token.slice(token.indexOf('.') + 1, token.lastIndexOf('.')), 'base64url').toString('utf8')
  const literal = rawMemberValue(json, claim)
  return literal !== undefined && /^[1-9]\d*$/.test(literal) ? value : undefined
}

/**
 * The source text of a top-level member's value in an already-validated JSON object text; the last
 * occurrence wins, as with JSON.parse. Undefined when the member is absent.
 */
export function rawMemberValue (json: string, key: string): string | undefined {
  let found: string | undefined
  let i = skipSpace(json, 0) + 1
  for (;;) {
    i = skipSpace(json, i)
    if (json[i] !== '"') return found
    const keyEnd = stringEnd(json, i)
    const name = JSON.parse(json.slice(i, keyEnd)) as string
    i = skipSpace(json, skipSpace(json, keyEnd) + 1)
    const valueEnd = valueEndAt(json, i)
    if (name === key) found = json.slice(i, valueEnd)
    i = skipSpace(json, valueEnd)
    if (json[i] !== ',') return found
    i++
  }
}

function skipSpace (json: string, i: number): number {
  while (json[i] === ' ' || json[i] === '\t' || json[i] === '\n' || json[i] === '\r') i++
  return i
}

function stringEnd (json: string, start: number): number {
  let i = start + 1
  while (json[i] !== '"') i += json[i] === '\\' ? 2 : 1
  return i + 1
}

function valueEndAt (json: string, start: number): number {
  const first = json[start]
  if (first === '"') return stringEnd(json, start)
  if (first === '{' || first === '[') {
    let depth = 0
    let i = start
    do {
      const c = json[i]
      if (c === '"') { i = stringEnd(json, i); continue }
      if (c === '{' || c === '[') depth++
      else if (c === '}' || c === ']') depth--
      i++
    } while (depth > 0)
    return i
  }
  let i = start
  while (i < json.length && !',}] \t\n\r'.includes(json[i])) i++
  return i
}

/**
 * The one "is this token revoked" rule for refresh and sliding tokens: blacklisted (logged out,
 * rotated away, revoked with its user), or of a family revoked after a reuse. The per-user cut-off
 * (log out everywhere, password change, deactivation) is `isCutOff`, for every token type.
 */
export function isRevoked (status: { blacklisted?: unknown, familyRevoked: boolean }): boolean {
  return status.blacklisted !== undefined || status.familyRevoked
}

/**
 * The per-user cut-off, for every token type: true when a token was issued at or before its user's
 * last revocation (`tokens_valid_after`: log out everywhere, a new password, a deactivation), or
 * before its user was created (`date_joined`: the token of an earlier user who had the same id).
 * In whole seconds, as `iat` is: a token minted in the revocation's own second is refused, since it
 * may have been minted before the revocation (a login in that second has to be repeated a second
 * later); one minted in the creation's own second is kept. A token without a usable `iat` counts as
 * issued before any revocation.
 */
export function isCutOff (claims: Claims, user: { tokensValidAfter: Date | null, dateJoined: Date }): boolean {
  const revokedAt = user.tokensValidAfter
  if (!isEpoch(claims.iat)) return revokedAt !== null
  if (revokedAt !== null && claims.iat <= Math.floor(revokedAt.getTime() / 1000)) return true
  return claims.iat < Math.floor(user.dateJoined.getTime() / 1000)
}

/** How many verified tokens the backend remembers (first in, first out). */
const VERIFIED_CACHE_SIZE = 10_000

/** What a verifier hands back for a well-signed token. */
export interface Decoded { header: Claims, payload: Claims }

export interface TokenServiceOptions {
  settings: TokenSettings
  /** Signs a payload with the configured key and algorithm (@fastify/jwt's `sign`). */
  sign: (payload: Claims) => string
  /** Verifies the signature and algorithm and decodes (@fastify/jwt's `verify` with `complete`). */
  verify: (token: string) => Decoded
  /** Milliseconds since the epoch; injected so that tests control time. */
  now: () => number
  /** Extra claims for new tokens (an app option, simplejwt's get_token override). */
  tokenClaims?: TokenClaimsHook
  /** Told the reserved claim names a tokenClaims hook tried to set (they are dropped). */
  onReservedClaims?: (names: string[]) => void
  /** Told when the hook took longer than claimsTimeoutMs (the login then answers 503). */
  onClaimsTimeout?: (ms: number) => void
  /** How long the hook may take (TOKEN_CLAIMS_TIMEOUT_MS by default). */
  claimsTimeoutMs?: number
}

/** The tokenClaims hook did not answer in time: a 503 the client may retry, and a warning. */
export class TokenClaimsTimeout extends ServiceUnavailable {
  constructor (readonly ms: number) {
    super(Math.max(1, Math.ceil(ms / 1000)))
    this.name = 'TokenClaimsTimeout'
  }
}

/** Creates the token backend: minting and checking tokens with one key, one algorithm and one clock. */
export function createTokenService ({ settings, sign, verify, now, tokenClaims, onReservedClaims, onClaimsTimeout, claimsTimeoutMs = TOKEN_CLAIMS_TIMEOUT_MS }: TokenServiceOptions) {
  checkTokenClaimsHook(tokenClaims)
  const reserved = reservedClaims(settings)

  /**
   * The hook's claims for a user, without the reserved ones (dropped, and reported); awaited within
   * `claimsTimeoutMs` (ServiceUnavailable after). A hook that returns no plain object is a bug of
   * the application: a TypeError, logged as a server error, never a token without its claims.
   */
  async function claimsFor (user: ClaimsUser): Promise<Claims> {
    if (tokenClaims === undefined) return {}
    // Only these fields, never the password hash, whatever object the caller holds.
    const { id, username, firstName, lastName, email, isStaff, isSuperuser } = user
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        onClaimsTimeout?.(claimsTimeoutMs)
        reject(new TokenClaimsTimeout(claimsTimeoutMs))
      }, claimsTimeoutMs)
    })
    let given: unknown
    try {
      given = await Promise.race([Promise.resolve(tokenClaims({ id, username, firstName, lastName, email, isStaff, isSuperuser })), late])
    } finally {
      clearTimeout(timer)
    }
    if (given === null || typeof given !== 'object' || Array.isArray(given)) {
      throw new TypeError(`fastify-simplejwt: tokenClaims must return an object of claims (got ${given === null ? 'null' : Array.isArray(given) ? 'an array' : typeof given})`)
    }
    const extra: Claims = {}
    const refused: string[] = []
    for (const [name, value] of Object.entries(given)) {
      if (reserved.has(name)) refused.push(name)
      else if (value !== undefined) extra[name] = value
    }
    if (refused.length > 0) onReservedClaims?.(refused)
    return extra
  }

  // Tokens whose format and signature already checked out, with the user id they name: the hot
  // path (the same access token on every request) skips decoding, verifying and scanning again.
  // Only time-independent facts are kept; claims are checked against the clock on every use.
  const verified = new Map<string, { decoded: Decoded, userId: number | undefined }>()

  function remember (token: string, decoded: Decoded): { decoded: Decoded, userId: number | undefined } {
    // Frozen: callers share these objects, and none may change what the next request sees.
    Object.freeze(decoded.header)
    Object.freeze(decoded.payload)
    const entry = { decoded, userId: userIdOf(token, decoded.payload, settings.USER_ID_CLAIM) }
    if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value as string)
    verified.set(token, entry)
    return entry
  }

  function lookup (token: string): { decoded: Decoded, userId: number | undefined } {
    return verified.get(token) ?? remember(token, decode(token))
  }

  /** Signature, algorithm and format only (simplejwt's TokenBackend.decode); throws TokenError. */
  function decode (token: string): Decoded {
    if (!isCompactJws(token)) throw new TokenError(TOKEN_MESSAGES.invalid)
    let decoded: Decoded
    try {
      decoded = verify(token)
    } catch {
      throw new TokenError(TOKEN_MESSAGES.invalid)
    }
    // RFC 7515 §4.1.11: we understand no extension, so any `crit` must be refused (spec D6).
    // Headers that point at keys are never followed: only configured keys verify (RFC 8725 §3.10).
    const { header } = decoded
    if (header.crit !== undefined || header.jku !== undefined || header.jwk !== undefined || header.x5u !== undefined || header.x5c !== undefined) {
      throw new TokenError(TOKEN_MESSAGES.invalid)
    }
    if (decoded.payload === null || typeof decoded.payload !== 'object' || Array.isArray(decoded.payload)) {
      throw new TokenError(TOKEN_MESSAGES.invalid)
    }
    return decoded
  }

  return {
    settings,
    now,

    claimsFor,

    /**
     * A new refresh and access token for a user, sharing one `iat` (TokenObtainPairSerializer),
     * with the tokenClaims hook's claims (claimsFor, awaited before).
     */
    obtainPair (userId: number, extra: Claims = {}): { refresh: string, access: string, refreshClaims: Claims } {
      const nowMs = now()
      const refreshClaims = newClaims('refresh', userId, nowMs, settings, extra)
      const accessClaims = accessClaimsFromRefresh(refreshClaims, nowMs, settings)
      return { refresh: sign(refreshClaims), access: sign(accessClaims), refreshClaims }
    },

    /** The rotated refresh token: the same claims with a new jti, iat and exp (ROTATE_REFRESH_TOKENS). */
    rotate (refresh: Claims): { token: string, jti: string, iat: number, exp: number } {
      const iat = Math.floor(now() / 1000)
      const exp = iat + settings.REFRESH_TOKEN_LIFETIME
      const jti = newJti()
      return { token: sign({ ...refresh, exp, iat, [settings.JTI_CLAIM]: jti }), jti, iat, exp }
    },

    /** A new sliding token for a user (TokenObtainSlidingSerializer), with the hook's claims. */
    obtainSliding (userId: number, extra: Claims = {}): { token: string, claims: Claims } {
      const claims = newClaims('sliding', userId, now(), settings, extra)
      return { token: sign(claims), claims }
    },

    /**
     * TokenRefreshSlidingSerializer: refresh_exp must not have passed (no leeway, as check_exp);
     * then the same claims, jti and refresh_exp included, with a new exp and iat. Throws TokenError.
     */
    refreshSliding (sliding: Claims): { token: string, claims: Claims } {
      const nowMs = now()
      const refreshExp = sliding[REFRESH_EXP_CLAIM]
      if (refreshExp === undefined) throw new TokenError(`Token has no '${REFRESH_EXP_CLAIM}' claim`)
      if (!isEpoch(refreshExp)) throw new TokenError(TOKEN_MESSAGES.invalid)
      if (refreshExp * 1000 <= nowMs) throw new TokenError(`Token '${REFRESH_EXP_CLAIM}' claim has expired`)
      const iat = Math.floor(nowMs / 1000)
      const claims = { ...sliding, exp: iat + (settings.SLIDING_TOKEN_LIFETIME ?? 300), iat }
      return { token: sign(claims), claims }
    },

    /** The access token minted from a verified refresh token's claims. */
    accessFrom (refresh: Claims): string {
      return sign(accessClaimsFromRefresh(refresh, now(), settings))
    },

    /** Verifies a token completely (signature, claims, type when given); returns its payload. */
    validate (token: string, expectedType?: TokenType): Claims {
      const { payload } = lookup(token).decoded
      checkClaims(payload, now(), settings, expectedType)
      return payload
    },

    /** The user id a validated token names, or undefined (spec D4). */
    userId (token: string, payload: Claims): number | undefined {
      return verified.get(token)?.userId ?? userIdOf(token, payload, settings.USER_ID_CLAIM)
    }
  }
}

export type TokenService = ReturnType<typeof createTokenService>
