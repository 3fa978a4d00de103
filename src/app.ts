// The application as one plugin: registration order = dependency order = URL map (simplejwt's urls.py)
import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import type { Config } from './config.js'
import type { TokenClaimsHook } from './tokens.js'
import type { Database } from './db/client.js'
import errorHandler from '../plugins/error-handler.js'
import http from '../plugins/http.js'
import swagger from '../plugins/swagger.js'
import simplejwt from './plugin.js'
import helloRoutes from '../routes/hello.js'
import healthRoutes from '../routes/health.js'

export interface AppOptions {
  config: Config
  /** An already-open database that the caller closes; otherwise DATABASE_URL is opened. */
  database?: Database
  /** The clock, in milliseconds since the epoch (tests move it instead of sleeping). */
  now?: () => number
  /**
   * Extra claims for the tokens of a login (both tokens of a pair, and sliding tokens): simplejwt's
   * get_token override. Refresh copies them to access tokens and rotation keeps them. Reserved claims
   * (token type, exp, iat, jti, user id, aud, iss, nbf, sub, refresh_exp) are dropped with a warning.
   */
  tokenClaims?: TokenClaimsHook
}

/** Request bodies larger than this are refused with 413 before they are parsed. */
export const BODY_LIMIT = 64 * 1024

/** Requests Node rejects before Fastify sees them (oversized headers, garbage) still get JSON. */
function clientErrorHandler (err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed || !socket.writable) return
  const [status, detail] = err.code === 'HPE_HEADER_OVERFLOW'
    ? [431, 'Request header fields too large.']
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request timed out.'] : [400, 'Bad request.']
  const body = JSON.stringify({ detail })
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
}

function hopsTrusted (hops: number) {
  return (_address: string, hop: number) => hop < hops
}

/** Server options shared by src/server.ts and the tests, so both validate and route identically. */
export function serverOptions (config: Config): FastifyServerOptions {
  return {
    logger: {
      level: config.LOG_LEVEL,
      // Credentials never reach the logs, whatever a serializer or a plugin decides to log.
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'req.body.password', 'req.body.refresh', 'req.body.token', 'req.body.access'],
        censor: '[redacted]'
      }
    },
    bodyLimit: BODY_LIMIT,
    routerOptions: { ignoreTrailingSlash: true },
    // No type coercion: DRF says "Not a valid string." to `true` and "may not be null." to `null`.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: true, useDefaults: true, allErrors: false } },
    // A number trusts that many proxy hops in X-Forwarded-For; the client IP keys login throttling.
    trustProxy: typeof config.TRUST_PROXY === 'number' ? hopsTrusted(config.TRUST_PROXY) : config.TRUST_PROXY,
    return503OnClosing: true,
    clientErrorHandler,
    forceCloseConnections: 'idle'
  }
}

/**
 * The standalone service: the plugin an application would register (src/plugin.ts), plus what a
 * server of its own adds around it: JSON errors, 404s and security headers for every route, the
 * OpenAPI document and Swagger UI, the tutorial's hello view and health probes.
 */
export default async function app (fastify: FastifyInstance, options: AppOptions) {
  await fastify.register(errorHandler)
  await fastify.register(http)
  await fastify.register(swagger)
  await fastify.register(simplejwt, { config: options.config, database: options.database, now: options.now, tokenClaims: options.tokenClaims, prefix: '/api', securityScheme: 'bearerAuth' })
  // The tutorial's protected view, guarded as any application guards its own routes.
  await fastify.register(helloRoutes, { prefix: '/api/hello' })
  await fastify.register(healthRoutes, { prefix: '/health' })
}
