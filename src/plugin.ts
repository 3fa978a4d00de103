// The package's main export: simplejwt as one Fastify plugin, as djangorestframework-simplejwt is one
// Django app. `app.register(simplejwt, options)` brings the token routes under a prefix, and
// `fastify.authenticate` for the application's own routes; src/app.ts is this plugin plus a server.
import fp from 'fastify-plugin'
import { AjvCompiler } from '@fastify/ajv-compiler'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { configFromOptions as settingsFromOptions, type Config, type SimpleJwtSettings } from './domain/settings.js'
import type { DatabaseOption } from './db/client.js'
import type { TokenClaimsHook } from './domain/tokens.js'
import simplejwtService, { createService, type SimpleJwt } from '../plugins/service.js'
import type { AuthenticatedUser } from '../plugins/jwt.js'
import errorHandler, { sendServiceError } from '../plugins/error-handler.js'
import http, { noStore } from '../plugins/http.js'
import authenticate from '../plugins/authenticate.js'
import tokenRoutes from '../routes/token.js'
import slidingRoutes from '../routes/sliding.js'
import revokeAllRoutes from '../routes/revoke-all.js'
import jwksRoutes from '../routes/jwks.js'
import adminUserRoutes from '../routes/admin-users/index.js'

export interface SimpleJwtOptions extends SimpleJwtSettings {
  /** Where the token routes go: `${prefix}/token/`, `${prefix}/token/refresh/`, …; default `/api`. */
  prefix?: string
  /**
   * The database: a postgres:// URL or `memory://`, or the application's own postgres.js `sql`,
   * PGlite, or Drizzle database over either, which the application keeps and closes. The service's
   * tables live in a PostgreSQL schema of their own, `simplejwt`. Default: DATABASE_URL, else the
   * embedded PGlite under DATA_DIR.
   */
  database?: DatabaseOption
  /** Extra claims for new tokens (simplejwt's get_token override); reserved claims are dropped. */
  tokenClaims?: TokenClaimsHook
  /** The clock, in milliseconds since the epoch (tests move it). */
  now?: () => number
  /** Serve the staff-only user administration under `${prefix}/admin/users/` (default true). */
  admin?: boolean
  /** Where the public keys are served (default `/.well-known/jwks.json`); false for nowhere. */
  jwksPath?: string | false
  /**
   * The name of a `bearer` security scheme in the application's OpenAPI document (`securitySchemes`
   * below), for the protected routes to name; false (the default) documents them without one,
   * since @fastify/swagger fails on a scheme the document lacks.
   */
  securityScheme?: string | false
  /** Settings already validated by loadConfig (the standalone server); the settings above are then ignored. */
  config?: Config
}

/**
 * The plugin's settings, validated as the environment is (typed values taken as they are); unknown
 * names are refused, not ignored. NODE_ENV defaults to the process's, so production fails closed.
 */
export function configFromOptions (options: SimpleJwtOptions): Config {
  return options.config ?? settingsFromOptions(options as Record<string, unknown>, { NODE_ENV: process.env.NODE_ENV })
}

const AJV_OPTIONS = { coerceTypes: false, removeAdditional: true, useDefaults: true, allErrors: false } as const

/** The prefix without its trailing slashes (a scan: /\/+$/ moves quadratically over a run of slashes). */
function trimTrailingSlashes (prefix: string): string {
  let end = prefix.length
  while (end > 0 && prefix.charCodeAt(end - 1) === 0x2f) end--
  return prefix.slice(0, end)
}

/**
 * The service inside an application. Everything but `fastify.simplejwt`, `fastify.authenticate` and
 * `request.user` stays encapsulated: the routes' body parsers, validator, error handler and JSON 404s
 * apply to the token routes only, never to the application's own.
 */
async function simplejwt (fastify: FastifyInstance, options: SimpleJwtOptions) {
  const config = configFromOptions(options)
  const prefix = trimTrailingSlashes(options.prefix ?? '/api')
  const service: SimpleJwt = createService(config, options.now)

  fastify.decorate('simplejwt', service)
  if (!fastify.hasRequestDecorator('user')) fastify.decorateRequest('user', null as unknown as AuthenticatedUser)
  fastify.decorate('authenticate', async function authenticate (request: FastifyRequest, reply: FastifyReply) {
    try {
      await service.verifyRequest(request)
    } catch (err) {
      // Answered here, in DRF's shape, whatever error handler the application has.
      const answered = sendServiceError(err, request, reply, config.AUTH_HEADER_TYPES)
      if (answered === undefined) throw err
      return answered
    }
  })

  await fastify.register(async function service (scope) {
    await scope.register(errorHandler)
    // DRF's validation: no type coercion ("Not a valid string." to `true`), whatever the application's Ajv does.
    const build = AjvCompiler()({}, { customOptions: AJV_OPTIONS, plugins: [] })
    scope.setValidatorCompiler((route) => build(route))
    await scope.register(http)
    const scheme = options.securityScheme ?? false
    // Routes are written naming `bearerAuth`; they name the application's scheme instead, or none.
    if (scheme !== 'bearerAuth') {
      scope.addHook('onRoute', (route) => {
        const { security, ...schema } = (route.schema ?? {}) as { security?: unknown[] }
        if (security === undefined || security.length === 0) return
        route.schema = scheme === false ? schema : { ...schema, security: [{ [scheme]: [] }] }
      })
    }
    await scope.register(simplejwtService, { database: options.database, tokenClaims: options.tokenClaims })
    await scope.register(authenticate)

    // Every answer under /token/, errors included, says no cache may keep it (RFC 6749 §5.1).
    await scope.register(async function tokenScope (tokens) {
      tokens.addHook('onSend', noStore)
      await tokens.register(tokenRoutes)
      await tokens.register(slidingRoutes, { prefix: '/sliding' })
      await tokens.register(revokeAllRoutes, { prefix: '/revoke-all' })
    }, { prefix: '/token' })
    if (options.admin !== false) await scope.register(adminUserRoutes, { prefix: '/admin/users' })
  }, { prefix })

  // Not under the prefix: other services look for the keys where RFC 8615 puts them.
  const jwksPath = options.jwksPath ?? '/.well-known/jwks.json'
  if (jwksPath !== false) await fastify.register(jwksRoutes, { path: jwksPath })
}

export default fp(simplejwt, { name: 'fastify-simplejwt', fastify: '5.x' })

export { loadConfig, ConfigError, type Config, type SimpleJwtSettings } from './domain/settings.js'
export type { SimpleJwt } from '../plugins/service.js'
export type { AuthenticatedUser } from '../plugins/jwt.js'
export type { Claims, TokenClaimsHook } from './domain/tokens.js'
export type { DatabaseOption } from './db/client.js'
export { SCHEMA } from './db/schema.js'
export { hashPassword } from './domain/passwords.js'
/** The OpenAPI security scheme of the access tokens, for an application's @fastify/swagger `components`. */
export { securitySchemes } from './schemas/common.js'
