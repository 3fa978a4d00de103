import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { AuthenticationFailed, InvalidToken, NotAuthenticated, TokenError, TOKEN_MESSAGES } from '../src/domain/errors.js'
import { issuedBefore, isRevoked, type Claims, type TokenType } from '../src/domain/tokens.js'

// bytes.split() in simplejwt: ASCII whitespace only, runs of it count once, ends are ignored.
const WHITESPACE = /[ \t\n\r\v\f]+/

// Mirrors rest_framework_simplejwt/authentication.py: get_header → get_raw_token → get_validated_token → get_user.
export default fp(async function authenticatePlugin (fastify: FastifyInstance) {
  const { tokens, userCache, blacklist, config } = fastify.simplejwt
  const headerTypes = new Set(config.AUTH_HEADER_TYPES)
  // AUTH_TOKEN_CLASSES: the token types tried, in order, each named as simplejwt names its class.
  const classes = config.AUTH_TOKEN_CLASSES.map(type => ({ type: type as TokenType, tokenClass: type === 'sliding' ? 'SlidingToken' : 'AccessToken' }))
  const claimString = (claims: Claims, name: string) => typeof claims[name] === 'string' ? claims[name] : ''

  /** simplejwt's get_validated_token: the first class the token fits, or one message per class tried. */
  async function validated (raw: string): Promise<{ claims: Claims, tokenClass: string, type: TokenType }> {
    const messages = []
    for (const { type, tokenClass } of classes) {
      try {
        const claims = tokens.validate(raw, type)
        // SlidingToken has BlacklistMixin: its verify() checks the blacklist (access tokens have none).
        if (type === 'sliding') {
          const status = await blacklist.status(claims[config.JTI_CLAIM] as string)
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

  fastify.simplejwt.verifyRequest = async function verifyRequest (request: FastifyRequest) {
    const header = request.headers.authorization
    const parts = header === undefined ? [] : header.split(WHITESPACE).filter(part => part !== '')
    // A missing header, or one for another scheme (Basic, a lowercase "bearer"), is no attempt at all.
    if (parts.length === 0 || !headerTypes.has(parts[0])) throw new NotAuthenticated()
    if (parts.length !== 2) {
      throw new AuthenticationFailed('Authorization header must contain two space-delimited values', 'bad_authorization_header')
    }
    const raw = parts[1]

    const { claims, tokenClass, type } = await validated(raw)

    const userId = tokens.userId(raw, claims)
    if (userId === undefined) throw new InvalidToken(TOKEN_MESSAGES.noUser)
    // JWTStatelessUserAuthentication: no user lookup; the token's claims are the user (TokenUser).
    // No active or cut-off check either: a revoked access token works until it expires.
    if (config.AUTH_STATELESS) {
      request.user = {
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
      return
    }
    // From memory in steady state: no database round trip per request (plugins/user-cache.ts).
    const user = await userCache.get(userId)
    if (user === undefined) throw new AuthenticationFailed('User not found', 'user_not_found')
    if (!user.isActive) throw new AuthenticationFailed('User is inactive', 'user_inactive')
    // Revocation without a per-request blacklist lookup: the user row already carries the cut-off.
    if (issuedBefore(claims, user.tokensValidAfter)) {
      throw new InvalidToken('Given token not valid for any token type', [
        { token_class: tokenClass, token_type: type, message: TOKEN_MESSAGES.blacklisted }
      ])
    }

    request.user = {
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
}, { name: 'simplejwt-authenticate', dependencies: ['simplejwt-service'] })
