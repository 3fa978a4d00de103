// simplejwt's JWTAuthentication (and JWTStatelessUserAuthentication) without HTTP: the Authorization
// header in, the authenticated user out, or DRF's 401 as a domain error. plugins/authenticate.ts is its
// Fastify glue. Mirrors rest_framework_simplejwt/authentication.py: get_header → get_raw_token →
// get_validated_token → get_user.
import { AuthenticationFailed, InvalidToken, NotAuthenticated, TokenError, TOKEN_MESSAGES } from './errors.js'
import { isCutOff, isRevoked, type Claims, type ClaimsUser, type CustomClaims, type TokenService, type TokenType } from './tokens.js'
import type { Config } from './settings.js'
import type { AuthUser, TokenStatusLookup, UserLookup } from './ports.js'

/** What `request.user` holds on a route guarded by `fastify.authenticate`. */
export interface AuthenticatedUser extends ClaimsUser {
  /** The validated token's claims (with the application's CustomClaims). */
  claims: Claims & CustomClaims
  /**
   * True under AUTH_STATELESS: nothing was loaded from the database; the id is the token's, and the
   * names and email come from `username`, `first_name`, `last_name`, `email` claims when present
   * (empty otherwise); isStaff and isSuperuser are always false (simplejwt's TokenUser).
   */
  stateless?: boolean
}

export type AuthenticationSettings = Pick<Config, 'AUTH_HEADER_TYPES' | 'AUTH_TOKEN_CLASSES' | 'JTI_CLAIM' | 'AUTH_STATELESS' | 'TOKEN_TYPE_CLAIM'>

export interface AuthenticationOptions {
  settings: AuthenticationSettings
  tokens: Pick<TokenService, 'validate' | 'userId'>
  /** Sliding tokens' blacklist check (access tokens have none). */
  tokenStatus: TokenStatusLookup
  /** Not used under AUTH_STATELESS. */
  users: UserLookup
}

/** Authenticates an Authorization header value; throws NotAuthenticated, AuthenticationFailed or InvalidToken. */
export type Authenticate = (header: string | undefined) => Promise<AuthenticatedUser>

// bytes.split() in simplejwt: ASCII whitespace only, runs of it count once, ends are ignored.
const WHITESPACE = /[ \t\n\r\v\f]+/

const claimString = (claims: Claims, name: string) => typeof claims[name] === 'string' ? claims[name] : ''

export function createAuthentication ({ settings, tokens, tokenStatus, users }: AuthenticationOptions): Authenticate {
  const headerTypes = new Set(settings.AUTH_HEADER_TYPES)
  // AUTH_TOKEN_CLASSES: the token types tried, in order, each named as simplejwt names its class.
  const classes = settings.AUTH_TOKEN_CLASSES.map(type => ({ type: type as TokenType, tokenClass: type === 'sliding' ? 'SlidingToken' : 'AccessToken' }))

  /** simplejwt's get_validated_token: the first class the token fits, or one message per class tried. */
  async function validated (raw: string): Promise<{ claims: Claims, tokenClass: string, type: TokenType }> {
    const messages = []
    for (const { type, tokenClass } of classes) {
      try {
        const claims = tokens.validate(raw, type)
        // SlidingToken has BlacklistMixin: its verify() checks the blacklist (access tokens have none).
        if (type === 'sliding') {
          const status = await tokenStatus.status(claims[settings.JTI_CLAIM] as string)
          if (isRevoked(status)) throw new TokenError(TOKEN_MESSAGES.blacklisted)
        }
        return { claims, tokenClass, type }
      } catch (err) {
        if (!(err instanceof TokenError)) throw err
        messages.push({ token_class: tokenClass, token_type: type, message: err.message })
      }
    }
    throw new InvalidToken('Given token not valid for any token type', messages)
  }

  return async function authenticate (header) {
    const parts = header === undefined ? [] : header.split(WHITESPACE).filter(part => part !== '')
    // A missing header, or one for another scheme (Basic, a lowercase "bearer"), is no attempt at all.
    if (parts.length === 0 || !headerTypes.has(parts[0])) throw new NotAuthenticated()
    if (parts.length !== 2) {
      throw new AuthenticationFailed('Authorization header must contain two space-delimited values', 'bad_authorization_header')
    }
    const raw = parts[1]

    const { claims } = await validated(raw)

    const userId = tokens.userId(raw, claims)
    if (userId === undefined) throw new InvalidToken(TOKEN_MESSAGES.noUser)
    // JWTStatelessUserAuthentication: no user lookup; the token's claims are the user (TokenUser).
    // No active or cut-off check either: a revoked access token works until it expires.
    if (settings.AUTH_STATELESS) {
      return {
        id: userId,
        username: claimString(claims, 'username'),
        firstName: claimString(claims, 'first_name'),
        lastName: claimString(claims, 'last_name'),
        email: claimString(claims, 'email'),
        isStaff: false,
        isSuperuser: false,
        claims,
        stateless: true
      }
    }
    // From memory in steady state: no database round trip per request (the user cache).
    return storedUser(await users.get(userId), claims, settings)
  }
}

/**
 * JWTAuthentication.get_user over a user as stored: refuses one that is gone or inactive, and a token
 * issued at or before the user's revocation cut-off or before the user joined (the revocation lives
 * on the user row: no per-request blacklist lookup); the user for `request.user` otherwise. The admin
 * routes run it again on the row read from the database, whatever the authentication mode.
 */
export function storedUser (user: AuthUser | undefined, claims: Claims, settings: Pick<Config, 'TOKEN_TYPE_CLAIM'>): AuthenticatedUser {
  if (user === undefined) throw new AuthenticationFailed('User not found', 'user_not_found')
  if (!user.isActive) throw new AuthenticationFailed('User is inactive', 'user_inactive')
  if (isCutOff(claims, user)) {
    const type = claims[settings.TOKEN_TYPE_CLAIM] === 'sliding' ? 'sliding' : 'access'
    throw new InvalidToken('Given token not valid for any token type', [
      { token_class: type === 'sliding' ? 'SlidingToken' : 'AccessToken', token_type: type, message: TOKEN_MESSAGES.blacklisted }
    ])
  }
  return {
    id: user.id,
    username: user.username,
    firstName: user.firstName,
    lastName: user.lastName,
    email: user.email,
    isStaff: user.isStaff,
    isSuperuser: user.isSuperuser,
    claims
  }
}
