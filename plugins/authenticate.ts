import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { createAuthentication, type AuthenticatedUser } from '../src/domain/authentication.js'

export type { AuthenticatedUser }

/** An `onRequest` (or `preHandler`) hook that authenticates the request or answers its 401. */
export type AuthenticateHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>

/** The users the hook authenticated, by request: typed whatever `request.user` is declared as. */
const authenticated = new WeakMap<FastifyRequest, AuthenticatedUser>()

/**
 * The user fastify-simplejwt's hook authenticated on this request; undefined on a route without
 * the hook (or before it ran). The same object as `request.user`, typed as the service's whatever
 * the application declares `request.user` to be (its own @fastify/jwt).
 */
export function authenticatedUser (request: FastifyRequest): AuthenticatedUser | undefined {
  return authenticated.get(request)
}

/** The authenticated user, where a guard has already run: a route reached without one is a bug, answered 500. */
export function requireUser (request: FastifyRequest): AuthenticatedUser {
  const user = authenticated.get(request)
  if (user === undefined) throw new Error('fastify-simplejwt: a guarded route ran without its authentication hook')
  return user
}

/** Replaces the request's user (the admin guard's fresher copy from the database). */
export function setUser (request: FastifyRequest, user: AuthenticatedUser): void {
  authenticated.set(request, user)
  ;(request as { user: unknown }).user = user
}

// simplejwt's JWTAuthentication on a request: the rules are src/domain/authentication.ts's.
export default fp(async function authenticatePlugin (fastify: FastifyInstance) {
  const { tokens, userCache, blacklist, config } = fastify.simplejwt
  const authenticate = createAuthentication({ settings: config, tokens, tokenStatus: blacklist, users: userCache })

  fastify.simplejwt.verifyRequest = async function verifyRequest (request: FastifyRequest) {
    setUser(request, await authenticate(request.headers.authorization))
  }
}, { name: 'simplejwt-authenticate', dependencies: ['simplejwt-service'] })
