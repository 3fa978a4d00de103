// The package's main export: simplejwt as one Fastify plugin, as djangorestframework-simplejwt is one
// Django app. `app.register(simplejwt, options)` brings the token routes under a prefix, and
// `fastify.authenticate` for the application's own routes; src/app.ts is this plugin plus a server.
import fp from 'fastify-plugin'
import { AjvCompiler } from '@fastify/ajv-compiler'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ConfigError, EnvSchema, loadConfig, type Algorithm, type Config, type RateLimit } from './config.js'
import type { DatabaseOption } from './db/client.js'
import type { TokenClaimsHook } from './tokens.js'
import { createService, type SimpleJwt } from '../plugins/service.js'
import type { AuthenticatedUser } from '../plugins/jwt.js'
import errorHandler, { sendServiceError } from '../plugins/error-handler.js'
import http from '../plugins/http.js'
import db from '../plugins/db.js'
import jwt from '../plugins/jwt.js'
import users from '../plugins/users.js'
import userCache from '../plugins/user-cache.js'
import blacklist from '../plugins/blacklist.js'
import throttle from '../plugins/throttle.js'
import authenticate from '../plugins/authenticate.js'
import tokenRoutes from '../routes/token.js'
import slidingRoutes from '../routes/sliding.js'
import revokeAllRoutes from '../routes/revoke-all.js'
import jwksRoutes from '../routes/jwks.js'
import adminUserRoutes from '../routes/admin-users.js'

/** A duration in seconds, or written as the environment writes it: `300`, `300s`, `5m`, `1h`, `1d`. */
export type Duration = number | string

/**
 * The settings, named and validated exactly as the environment variables of the standalone server
 * (README "Settings"); values may also be given as numbers, booleans and arrays.
 */
export interface SimpleJwtSettings {
  ACCESS_TOKEN_LIFETIME?: Duration
  REFRESH_TOKEN_LIFETIME?: Duration
  ROTATE_REFRESH_TOKENS?: boolean
  BLACKLIST_AFTER_ROTATION?: boolean
  UPDATE_LAST_LOGIN?: boolean
  REFRESH_REUSE_DETECTION?: boolean
  REFRESH_REUSE_INTERVAL?: Duration
  SLIDING_TOKEN_LIFETIME?: Duration
  SLIDING_TOKEN_REFRESH_LIFETIME?: Duration
  AUTH_TOKEN_CLASSES?: Array<'access' | 'sliding'> | string
  AUTH_STATELESS?: boolean
  JWT_ALGORITHM?: Algorithm
  JWT_SIGNING_KEY?: string
  JWT_SIGNING_KEY_FILE?: string
  JWT_VERIFYING_KEY?: string
  JWT_VERIFYING_KEY_FILE?: string
  JWT_PREVIOUS_VERIFYING_KEYS?: string
  JWT_PREVIOUS_VERIFYING_KEYS_FILE?: string
  JWT_AUDIENCE?: string
  JWT_ISSUER?: string
  JWT_LEEWAY?: Duration
  AUTH_HEADER_TYPES?: string[] | string
  USER_ID_CLAIM?: string
  TOKEN_TYPE_CLAIM?: string
  JTI_CLAIM?: string
  /** Failed logins per window, `10/1m`, or `off` (null). */
  LOGIN_THROTTLE_USERNAME?: string | RateLimit | null
  LOGIN_THROTTLE_IP?: string | RateLimit | null
  /** Password checks running or waiting at once, in all (503 beyond) and per client address (429 beyond). */
  LOGIN_QUEUE_SIZE?: number
  LOGIN_QUEUE_PER_CLIENT?: number
  /** Refreshes per user per window, `60/1m`, or `off` (null). */
  REFRESH_THROTTLE?: string | RateLimit | null
  /** The bound on every database call (then 503), and on every Redis command (then in-process counters). */
  DATABASE_TIMEOUT?: Duration
  REDIS_TIMEOUT?: Duration
  USER_CACHE_TTL?: Duration
  USER_CACHE_SIZE?: number
  REDIS_URL?: string
  /** Used when the `database` option is not given. */
  DATABASE_URL?: string
  DATA_DIR?: string
  MIGRATE_ON_START?: boolean
  /** `production` refuses unsafe settings; defaults to process.env.NODE_ENV. */
  NODE_ENV?: string
}

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

const OPTION_NAMES = new Set(['prefix', 'database', 'tokenClaims', 'now', 'admin', 'jwksPath', 'securityScheme', 'config'])

/** The OpenAPI security scheme of the access tokens, for an application's @fastify/swagger `components`. */
export const securitySchemes = {
  bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from POST /api/token/.' }
} as const
const SETTING_NAMES = new Set([
  ...Object.keys(EnvSchema.properties), 'JWT_SIGNING_KEY_FILE', 'JWT_VERIFYING_KEY_FILE', 'JWT_PREVIOUS_VERIFYING_KEYS_FILE'
])
/** Server settings of the standalone process that mean nothing inside an application. */
const SERVER_SETTINGS = new Set(['HOST', 'PORT', 'LOG_LEVEL', 'TRUST_PROXY', 'REQUEST_TIMEOUT', 'HEADERS_TIMEOUT', 'KEEP_ALIVE_TIMEOUT'])

/** One setting as the environment would spell it, so that it is validated by the same code. */
function asEnvValue (value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (value === null) return 'off'
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (Array.isArray(value)) return value.join(',')
  const rate = value as Partial<RateLimit>
  if (typeof value === 'object' && Number.isInteger(rate.failures) && Number.isInteger(rate.seconds)) return `${rate.failures}/${rate.seconds}s`
  return JSON.stringify(value)
}

/** The plugin's settings validated as the environment is; unknown names are refused, not ignored. */
export function configFromOptions (options: SimpleJwtOptions): Config {
  if (options.config !== undefined) return options.config
  const env: Record<string, string | undefined> = { NODE_ENV: process.env.NODE_ENV }
  for (const [name, value] of Object.entries(options)) {
    if (OPTION_NAMES.has(name)) continue
    if (!SETTING_NAMES.has(name) || SERVER_SETTINGS.has(name)) {
      throw new ConfigError(name, SERVER_SETTINGS.has(name) ? 'is a setting of the standalone server, not of the plugin' : 'is not a setting of fastify-simplejwt')
    }
    env[name] = asEnvValue(value)
  }
  return loadConfig(env)
}

const AJV_OPTIONS = { coerceTypes: false, removeAdditional: true, useDefaults: true, allErrors: false } as const

/**
 * The service inside an application. Everything but `fastify.simplejwt`, `fastify.authenticate` and
 * `request.user` stays encapsulated: the routes' body parsers, validator, error handler and JSON 404s
 * apply to the token routes only, never to the application's own.
 */
async function simplejwt (fastify: FastifyInstance, options: SimpleJwtOptions) {
  const config = configFromOptions(options)
  const prefix = (options.prefix ?? '/api').replace(/\/+$/, '')
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
    await scope.register(db, { database: options.database })
    await scope.register(jwt, { tokenClaims: options.tokenClaims })
    await scope.register(users)
    await scope.register(userCache)
    await scope.register(blacklist)
    await scope.register(throttle)
    await scope.register(authenticate)

    await scope.register(tokenRoutes, { prefix: '/token' })
    await scope.register(slidingRoutes, { prefix: '/token/sliding' })
    await scope.register(revokeAllRoutes, { prefix: '/token/revoke-all' })
    if (options.admin !== false) await scope.register(adminUserRoutes, { prefix: '/admin/users' })
  }, { prefix })

  // Not under the prefix: other services look for the keys where RFC 8615 puts them.
  const jwksPath = options.jwksPath ?? '/.well-known/jwks.json'
  if (jwksPath !== false) await fastify.register(jwksRoutes, { path: jwksPath })
}

export default fp(simplejwt, { name: 'fastify-simplejwt', fastify: '5.x' })

export { loadConfig, ConfigError, type Config } from './config.js'
export type { SimpleJwt } from '../plugins/service.js'
export type { AuthenticatedUser } from '../plugins/jwt.js'
export type { Claims, TokenClaimsHook } from './tokens.js'
export type { DatabaseOption } from './db/client.js'
export { SCHEMA } from './db/schema.js'
export { hashPassword } from './passwords.js'
