// The application as one plugin: registration order = dependency order = URL map (simplejwt's urls.py)
import { STATUS_CODES, type Server } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyHttpOptions, FastifyInstance } from 'fastify'
import type { Config } from './domain/settings.js'
import type { TokenClaimsHook } from './domain/tokens.js'
import type { Database } from './db/client.js'
import errorHandler from '../plugins/error-handler.js'
import http, { SECURITY_HEADERS } from '../plugins/http.js'
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

/** How long a socket answered by clientErrorHandler may still send (read and dropped) before it is destroyed. */
const LINGER_MS = 1000

/**
 * Requests Node rejects before Fastify sees them (oversized headers, garbage, a request or its
 * headers too slow) still get JSON in DRF's shape and Django's security headers, if the socket can
 * still take an answer; then the connection closes.
 */
export function clientErrorHandler (this: FastifyInstance, err: NodeJS.ErrnoException, socket: Duplex): void {
  this.log.debug({ err: { message: err.message, code: err.code } }, 'client error')
  const sent = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true
  if (err.code === 'ECONNRESET' || socket.destroyed || !socket.writable || sent) {
    socket.destroy()
    return
  }
  const [status, detail] = err.code === 'HPE_HEADER_OVERFLOW'
    ? [431, 'Request header fields too large.']
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request timeout.'] : [400, 'Bad request.']
  const body = JSON.stringify({ detail })
  const headers = Object.entries(SECURITY_HEADERS).map(([name, value]) => `${name}: ${value}\r\n`).join('')
  socket.on('error', () => {})
  // Whatever the client still sends is dropped for a moment, so that it reads the answer rather than a reset.
  const timer = setTimeout(() => socket.destroy(), LINGER_MS)
  timer.unref()
  socket.once('close', () => clearTimeout(timer))
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${headers}connection: close\r\n\r\n${body}`)
  socket.resume()
}

/**
 * Node's bounds on a client (REQUEST_TIMEOUT, HEADERS_TIMEOUT, KEEP_ALIVE_TIMEOUT, all in seconds in
 * the settings), as Fastify's server options: a whole request, its headers, an idle keep-alive
 * connection. Node checks them every `connectionsCheckingInterval`: a quarter of the headers
 * timeout, between 50 ms and 1 s.
 */
export function serverTimeouts (config: Pick<Config, 'REQUEST_TIMEOUT' | 'HEADERS_TIMEOUT' | 'KEEP_ALIVE_TIMEOUT'>): Pick<FastifyHttpOptions<Server>, 'requestTimeout' | 'keepAliveTimeout' | 'http'> {
  const requestTimeout = config.REQUEST_TIMEOUT * 1000
  // Node refuses a headers timeout longer than the request timeout.
  const headersTimeout = Math.min(config.HEADERS_TIMEOUT * 1000, requestTimeout)
  const connectionsCheckingInterval = Math.min(1000, Math.max(50, Math.floor(headersTimeout / 4)))
  return {
    requestTimeout,
    keepAliveTimeout: config.KEEP_ALIVE_TIMEOUT * 1000,
    http: { requestTimeout, headersTimeout, connectionsCheckingInterval }
  }
}

function hopsTrusted (hops: number) {
  return (_address: string, hop: number) => hop < hops
}

/** Logged at start in production with TRUST_PROXY=true (issue 15, finding 8). */
export const TRUST_PROXY_WARNING = 'TRUST_PROXY=true believes any client\'s X-Forwarded-For: a client can choose the address that login throttling counts it under, and get another address locked out; set TRUST_PROXY to the number of proxy hops in front of the service, or to the proxies\' addresses or CIDR ranges'

/** Server options shared by src/server.ts and the tests, so both validate and route identically. */
export function serverOptions (config: Config): FastifyHttpOptions<Server> {
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
    ...serverTimeouts(config),
    routerOptions: { ignoreTrailingSlash: true },
    // No type coercion: DRF says "Not a valid string." to `true` and "may not be null." to `null`.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: true, useDefaults: true, allErrors: false } },
    // A number trusts that many proxy hops in X-Forwarded-For, a list those proxies' addresses and
    // ranges (proxy-addr's forms); the client IP keys login throttling.
    trustProxy: typeof config.TRUST_PROXY === 'number' ? hopsTrusted(config.TRUST_PROXY) : config.TRUST_PROXY,
    return503OnClosing: true,
    clientErrorHandler,
    forceCloseConnections: 'idle',
    // Opening the database applies pending migrations and, for the embedded PGlite, loads its data
    // directory: on a busy or slow machine that outlasts avvio's 10 s default, which would end the
    // start with "Plugin did not start in time: 'db'". Start-up still ends: a database that does
    // not answer fails its connection within its own timeouts.
    pluginTimeout: 120_000
  }
}

/**
 * The standalone service: the plugin an application would register (src/plugin.ts), plus what a
 * server of its own adds around it: JSON errors, 404s and security headers for every route, the
 * OpenAPI document and Swagger UI, the tutorial's hello view and health probes.
 */
export default async function app (fastify: FastifyInstance, options: AppOptions) {
  if (options.config.PRODUCTION && options.config.TRUST_PROXY === true) fastify.log.warn({ setting: 'TRUST_PROXY' }, TRUST_PROXY_WARNING)
  await fastify.register(errorHandler)
  await fastify.register(http)
  await fastify.register(swagger)
  await fastify.register(simplejwt, { config: options.config, database: options.database, now: options.now, tokenClaims: options.tokenClaims, prefix: '/api', securityScheme: 'bearerAuth', operationIdPrefix: '' })
  // The tutorial's protected view, guarded as any application guards its own routes.
  await fastify.register(helloRoutes, { prefix: '/api/hello' })
  await fastify.register(healthRoutes, { prefix: '/health' })
}
