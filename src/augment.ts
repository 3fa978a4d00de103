// Opt-in types for an application that lets fastify-simplejwt type `request.user` and
// `fastify.authenticate`: `import 'fastify-simplejwt/augment'` once, anywhere in the program.
// Not part of the main entry, so that an application that already types @fastify/jwt
// (`FastifyJWT.user`) or decorates its own `authenticate` keeps its declarations without a clash;
// such an application reads the user with `authenticatedUser(request)` (docs/library.md).
/// <reference types="@fastify/jwt" preserve="true" />
import type { AuthenticatedUser, AuthenticateHook } from '../plugins/authenticate.js'
import type { Claims, CustomClaims } from './domain/tokens.js'

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: Claims & CustomClaims
    /** The token's user, on routes guarded by the hook; null elsewhere. */
    user: AuthenticatedUser
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * fastify-simplejwt's `onRequest` hook (the `authenticateDecorator` option names it, default
     * `authenticate`): simplejwt's JWTAuthentication, answering its 401 itself.
     */
    authenticate: AuthenticateHook
  }
}

export {}
