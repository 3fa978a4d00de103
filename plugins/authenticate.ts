import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { AuthenticationFailed, InvalidToken, NotAuthenticated, TokenError, TOKEN_MESSAGES } from '../src/errors.js'
import { issuedBefore } from '../src/tokens.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * An `onRequest` hook for protected routes: reads `Authorization`, validates the access token and
     * loads its active user into `request.user`. Throws DRF's 401 errors (JWTAuthentication).
     */
    authenticate: (request: FastifyRequest) => Promise<void>
  }
}

// bytes.split() in simplejwt: ASCII whitespace only, runs of it count once, ends are ignored.
const WHITESPACE = /[ \t\n\r\v\f]+/

// Mirrors rest_framework_simplejwt/authentication.py: get_header → get_raw_token → get_validated_token → get_user.
export default fp(async function authenticatePlugin (fastify: FastifyInstance) {
  const { tokens, userCache } = fastify
  const headerTypes = new Set(fastify.config.AUTH_HEADER_TYPES)

  fastify.decorate('authenticate', async function authenticate (request: FastifyRequest) {
    const header = request.headers.authorization
    const parts = header === undefined ? [] : header.split(WHITESPACE).filter(part => part !== '')
    // A missing header, or one for another scheme (Basic, a lowercase "bearer"), is no attempt at all.
    if (parts.length === 0 || !headerTypes.has(parts[0])) throw new NotAuthenticated()
    if (parts.length !== 2) {
      throw new AuthenticationFailed('Authorization header must contain two space-delimited values', 'bad_authorization_header')
    }
    const raw = parts[1]

    let claims
    try {
      claims = tokens.validate(raw, 'access')
    } catch (err) {
      if (!(err instanceof TokenError)) throw err
      throw new InvalidToken('Given token not valid for any token type', [
        { token_class: 'AccessToken', token_type: 'access', message: err.message }
      ])
    }

    const userId = tokens.userId(raw, claims)
    if (userId === undefined) throw new InvalidToken(TOKEN_MESSAGES.noUser)
    // From memory in steady state: no database round trip per request (plugins/user-cache.ts).
    const user = await userCache.get(userId)
    if (user === undefined) throw new AuthenticationFailed('User not found', 'user_not_found')
    if (!user.isActive) throw new AuthenticationFailed('User is inactive', 'user_inactive')
    // Revocation without a per-request blacklist lookup: the user row already carries the cut-off.
    if (issuedBefore(claims, user.tokensValidAfter)) {
      throw new InvalidToken('Given token not valid for any token type', [
        { token_class: 'AccessToken', token_type: 'access', message: TOKEN_MESSAGES.blacklisted }
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
  })
}, { name: 'authenticate', dependencies: ['jwt', 'user-cache'] })
