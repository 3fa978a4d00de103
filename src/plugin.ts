// The package's main export: simplejwt as one Fastify plugin, as djangorestframework-simplejwt is one
// Django app. `app.register(simplejwt, options)` brings the token routes under a prefix, and
// `fastify.authenticate` for the application's own routes; src/app.ts is this plugin plus a server.
// Types for `request.user` and `fastify.authenticate` are opt-in (src/augment.ts).
import fp from 'fastify-plugin'
import { AjvCompiler } from '@fastify/ajv-compiler'
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify'
import { ConfigError, configFromOptions as settingsFromOptions, type Config, type SimpleJwtSettings } from './domain/settings.js'
import type { DatabaseOption } from './db/client.js'
import { authenticationErrorResponse, TokenErrorSchema } from './schemas/common.js'
import { checkTokenClaimsHook, type TokenClaimsHook } from './domain/tokens.js'
import simplejwtService, { createService, type SimpleJwt } from '../plugins/service.js'
import errorHandler, { sendServiceError, type BodyShaper } from '../plugins/error-handler.js'
import http, { answerOtherMethods, noStore } from '../plugins/http.js'
import authenticate from '../plugins/authenticate.js'
import tokenRoutes from '../routes/token.js'
import slidingRoutes from '../routes/sliding.js'
import revokeAllRoutes from '../routes/revoke-all.js'
import jwksRoutes from '../routes/jwks.js'
import adminUserRoutes from '../routes/admin-users/index.js'

export interface SimpleJwtOptions extends SimpleJwtSettings {
  /**
   * Where the token routes go, under the prefix of the scope the plugin is registered in:
   * `${prefix}/token/`, `${prefix}/token/refresh/`, …. Default `/api` at the root of the
   * application, `''` inside a prefixed scope (whose prefix is then the API's root).
   */
  // Not `| undefined`: Fastify's own RegisterOptions declares `prefix?: string`, and under
  // exactOptionalPropertyTypes the two must agree for `register(simplejwt, options)` to typecheck.
  prefix?: string
  /**
   * The database: a postgres:// URL or `memory://`, or the application's own postgres.js `sql`,
   * PGlite, or Drizzle database over either, which the application keeps and closes. The service's
   * tables live in a PostgreSQL schema of their own, `simplejwt`. Required in production; in
   * development the default is DATABASE_URL, else the embedded PGlite under DATA_DIR (with a warning).
   */
  database?: DatabaseOption | undefined
  /** Extra claims for new tokens (simplejwt's get_token override), sync or async; reserved claims are dropped. */
  tokenClaims?: TokenClaimsHook | undefined
  /** The clock, in milliseconds since the epoch (tests move it). */
  now?: (() => number) | undefined
  /** Serve the staff-only user administration under `${prefix}/admin/users/` (default true). */
  admin?: boolean | undefined
  /** Where the public keys are served (default `/.well-known/jwks.json`, under the scope's prefix); false for nowhere. */
  jwksPath?: string | false | undefined
  /**
   * The name of a `bearer` security scheme in the application's OpenAPI document (`securitySchemes`
   * below), for the protected routes to name; false (the default) documents them without one,
   * since @fastify/swagger fails on a scheme the document lacks.
   */
  securityScheme?: string | false | undefined
  /**
   * The instance decorator the authentication hook is also offered under (default `authenticate`;
   * false for none). It is always `fastify.simplejwt.authenticate`. When the default name is taken
   * (an application's own @fastify/jwt recipe), it is left to the application, with a warning.
   */
  authenticateDecorator?: string | false | undefined
  /**
   * Shapes the body of the errors the authentication hook answers on the application's routes (401,
   * and 503 while the database is away) into the application's error format; `WWW-Authenticate`
   * and `Retry-After` are kept. Receives DRF's body (`{"detail", "code"?, "messages"?}`) and the
   * status. The token routes keep simplejwt's bodies, which its clients read.
   */
  authenticationErrorBody?: BodyShaper | undefined
  /**
   * Prepended to the operationIds of the package's routes in the application's OpenAPI document
   * (`obtainTokenPair` becomes `simplejwtObtainTokenPair`), so that they never collide with the
   * application's own (`listUsers`, `createUser`). Default `simplejwt`; `''` keeps them as they are.
   */
  operationIdPrefix?: string | undefined
  /** Settings already validated by loadConfig (the standalone server); the settings above are then ignored. */
  config?: Config | undefined
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

/** `obtainTokenPair` under prefix `simplejwt`: `simplejwtObtainTokenPair`. */
export function prefixedOperationId (prefix: string, operationId: string): string {
  return prefix === '' ? operationId : `${prefix}${operationId.charAt(0).toUpperCase()}${operationId.slice(1)}`
}

/** Fails at registration, with the option's name, rather than at the first request. */
function checkOptions (options: SimpleJwtOptions, config: Config): void {
  checkTokenClaimsHook(options.tokenClaims)
  for (const name of ['now', 'authenticationErrorBody'] as const) {
    const value = options[name]
    if (value !== undefined && typeof value !== 'function') throw new ConfigError(name, `must be a function (got ${value === null ? 'null' : typeof value})`)
  }
  const decorator = options.authenticateDecorator
  if (decorator !== undefined && decorator !== false && (typeof decorator !== 'string' || !/^[A-Za-z_$][\w$]*$/.test(decorator))) {
    throw new ConfigError('authenticateDecorator', 'must be an identifier (a decorator name) or false')
  }
  // Library mode never falls back to an embedded database in production: the application and the
  // CLI (which reads DATABASE_URL) would silently use different ones.
  if (options.config === undefined && options.database === undefined && config.DATABASE_URL === undefined && config.PRODUCTION) {
    throw new ConfigError('database', 'is required when NODE_ENV=production: pass the application\'s database (a postgres:// URL, or its postgres.js sql or Drizzle db); the embedded PGlite is for development')
  }
}

/**
 * The service inside an application. Everything but `fastify.simplejwt`, the `authenticate`
 * decorator and `request.user` stays encapsulated: the routes' body parsers, validator, error
 * handler and 405s apply to the token routes only, never to the application's own, and its 404s
 * stay its own (no not-found handler, no wildcard route).
 */
async function simplejwt (fastify: FastifyInstance, options: SimpleJwtOptions) {
  if (fastify.hasDecorator('simplejwt')) {
    throw new Error('fastify-simplejwt is already registered in this scope or a parent of it: register it once per scope; for two independent services (e.g. /api/v1 and /api/v2), register each inside its own encapsulated plugin (docs/library.md)')
  }
  const started = Date.now()
  const config = configFromOptions(options)
  checkOptions(options, config)
  const prefix = trimTrailingSlashes(options.prefix ?? (fastify.prefix === '' ? '/api' : ''))
  const service: SimpleJwt = createService(config, options.now)
  const shapeBody = options.authenticationErrorBody

  service.authenticate = async function authenticate (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    try {
      await service.verifyRequest(request)
    } catch (err) {
      // Answered here, in DRF's shape (or the application's), whatever error handler the application has.
      if (sendServiceError(err, request, reply, config.AUTH_HEADER_TYPES, shapeBody) === undefined) throw err
    }
  }
  fastify.decorate('simplejwt', service)
  if (!fastify.hasRequestDecorator('user')) fastify.decorateRequest('user', null as never)
  const decorator = options.authenticateDecorator ?? 'authenticate'
  if (decorator !== false) {
    if (!fastify.hasDecorator(decorator)) fastify.decorate(decorator, service.authenticate)
    else if (options.authenticateDecorator !== undefined) throw new ConfigError('authenticateDecorator', `fastify.${decorator} is already decorated: choose another name, or false`)
    else fastify.log.warn(`fastify.${decorator} is the application's own: fastify-simplejwt's hook is fastify.simplejwt.authenticate (or choose a name with authenticateDecorator)`)
  }
  if (options.config === undefined && options.database === undefined && config.DATABASE_URL === undefined) {
    fastify.log.warn({ dataDir: config.DATA_DIR }, 'fastify-simplejwt: no database option: using the embedded PGlite under DATA_DIR (development only; the CLI finds it with the same DATA_DIR)')
  }
  const operationIdPrefix = options.operationIdPrefix ?? 'simplejwt'
  // Fastify's pluginTimeout, from when the registration started: a slow start fails with our words.
  const pluginTimeout = fastify.initialConfig.pluginTimeout ?? 10_000
  const deadline = pluginTimeout > 0 ? { at: started + pluginTimeout - Math.min(250, pluginTimeout / 10), pluginTimeout } : undefined

  await fastify.register(async function service (scope) {
    await scope.register(errorHandler)
    // DRF's validation: no type coercion ("Not a valid string." to `true`), whatever the application's Ajv does.
    const build = AjvCompiler()({}, { customOptions: AJV_OPTIONS, plugins: [] })
    scope.setValidatorCompiler((route) => build(route))
    // No not-found handler: the application's 404s stay its own (405s come from answerOtherMethods).
    await scope.register(http, { notFound: false })
    const scheme = options.securityScheme ?? false
    // Routes are written naming `bearerAuth`; they name the application's scheme instead, or none;
    // their operationIds get the prefix.
    scope.addHook('onRoute', (route) => {
      const schema = route.schema as { security?: unknown[], operationId?: string } | undefined
      if (schema === undefined) return
      const { security, ...rest } = schema
      const renamed = typeof rest.operationId === 'string' ? { operationId: prefixedOperationId(operationIdPrefix, rest.operationId) } : {}
      const named = security === undefined || security.length === 0 || scheme === 'bearerAuth'
        ? (security === undefined ? {} : { security })
        : scheme === false ? {} : { security: [{ [scheme]: [] }] }
      route.schema = { ...rest, ...renamed, ...named } as FastifySchema
    })
    await scope.register(simplejwtService, { database: options.database, tokenClaims: options.tokenClaims, deadline })
    await scope.register(authenticate)

    // Every answer under /token/, errors included, says no cache may keep it (RFC 6749 §5.1).
    await scope.register(async function tokenScope (tokens) {
      tokens.addHook('onSend', noStore)
      await tokens.register(tokenRoutes)
      await tokens.register(slidingRoutes, { prefix: '/sliding' })
      await tokens.register(revokeAllRoutes, { prefix: '/revoke-all' })
    }, { prefix: '/token' })
    if (options.admin !== false) await scope.register(adminUserRoutes, { prefix: '/admin/users' })
    answerOtherMethods(scope)
  }, { prefix })

  // Not under the plugin's prefix: other services look for the keys where RFC 8615 puts them.
  const jwksPath = options.jwksPath ?? '/.well-known/jwks.json'
  if (jwksPath !== false) {
    await fastify.register(async function keys (scope) {
      scope.addHook('onRoute', (route) => {
        const schema = route.schema as { operationId?: string } | undefined
        if (typeof schema?.operationId === 'string') route.schema = { ...schema, operationId: prefixedOperationId(operationIdPrefix, schema.operationId) } as FastifySchema
      })
      await scope.register(jwksRoutes, { path: jwksPath })
    })
  }
}

export default fp(simplejwt, { name: 'fastify-simplejwt', fastify: '5.x' })

export { loadConfig, ConfigError, type Config, type SimpleJwtSettings } from './domain/settings.js'
export type { SimpleJwt } from '../plugins/service.js'
export { authenticatedUser, type AuthenticatedUser, type AuthenticateHook } from '../plugins/authenticate.js'
export type { BodyShaper } from '../plugins/error-handler.js'
export type { Claims, CustomClaims, TokenClaimsHook } from './domain/tokens.js'
export type { DatabaseOption } from './db/client.js'
export { SCHEMA } from './db/schema.js'
export { hashPassword } from './domain/passwords.js'
/** The OpenAPI security scheme of the access tokens, for an application's @fastify/swagger `components`. */
export { securitySchemes } from './schemas/common.js'

/**
 * The 401 that `fastify.simplejwt.authenticate` answers, as a response schema for the application's
 * own protected routes (`response: { 401: UnauthorizedResponse }`), documented with its examples
 * and its `WWW-Authenticate` header. Its body schema is inline (the package's named `TokenError`
 * lives in the package's scopes only), so it works in any scope. With `authenticationErrorBody`,
 * document the application's shape instead.
 */
export const UnauthorizedResponse = inlined(authenticationErrorResponse('No credentials, a malformed Authorization header, an invalid, expired or revoked access token, or an unknown or inactive user.'))

function inlined<R extends { content: { 'application/json': { schema: unknown } } }> (response: R): R {
  const { $id: _id, ...schema } = TokenErrorSchema
  return { ...response, content: { 'application/json': { ...response.content['application/json'], schema } } }
}
