import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ApiError } from '../src/domain/errors.js'
import { cleanCharFields, type SerializerSchema } from '../src/domain/drf-fields.js'
import { drainBody, rawBody } from './http.js'
import { isDatabaseUnavailable } from '../src/db/client.js'
import { redactQueryParameters } from '../src/db/redact.js'

/** The only body a server fault ever gets: nothing about the fault itself. */
export const SERVER_ERROR = { detail: 'A server error occurred.' }
/** DRF's ServiceUnavailable: the database is away; the client may retry. */
export const SERVICE_UNAVAILABLE = { detail: 'Service temporarily unavailable, try again later.' }

/** Sends an error body as DRF renders it; a 401 names its challenge (simplejwt's authenticate_header()). */
export function send (reply: FastifyReply, status: number, body: unknown, headerTypes = reply.server.simplejwt?.config.AUTH_HEADER_TYPES) {
  if (status === 401) reply.header('www-authenticate', `${headerTypes?.[0] ?? 'Bearer'} realm="api"`)
  // Error bodies bypass the routes' response serializers: they are sent exactly as built.
  return reply.code(status).type('application/json; charset=utf-8').serializer(JSON.stringify).send(body)
}

/** Turns an error body as DRF renders it into the one sent (an application's own error format). */
export type BodyShaper = (body: Record<string, unknown>, statusCode: number, request: FastifyRequest) => unknown
const asIs: BodyShaper = body => body

/**
 * Answers the errors the service raises itself: DRF's (ApiError, with `Retry-After` when it carries a `retryAfter`),
 * and 503 while the database is away. Undefined for any other error. Also used by
 * `fastify.authenticate`, which answers on an application's routes whatever its error handler.
 */
export function sendServiceError (error: unknown, request: FastifyRequest, reply: FastifyReply, headerTypes?: string[], shape: BodyShaper = asIs): FastifyReply | undefined {
  if (error instanceof ApiError) {
    const { retryAfter } = error as ApiError & { retryAfter?: number }
    if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter))
    return send(reply, error.statusCode, shape(error.body, error.statusCode, request), headerTypes)
  }
  if (isDatabaseUnavailable(error)) {
    // Drizzle's message ends with the query's parameters (a password hash, say): never logged.
    const { message, code, cause } = redactQueryParameters(error as FastifyError)
    request.log.warn({ err: { message, code: (cause as { code?: string } | undefined)?.code ?? code } }, 'database unavailable')
    reply.header('retry-after', '5')
    return send(reply, 503, shape(SERVICE_UNAVAILABLE, 503, request))
  }
  return undefined
}

/** The answer to a request whose client went away; written only if the socket still takes it. */
const CLIENT_ABORTED = { detail: 'The request was not received in full.' }
const ABORT_CODES = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE'])

/**
 * True for a request body read that failed because the client aborted or reset the connection
 * (Fastify marks a failed body read 400); a database connection reset is no such thing.
 */
export function isClientAbort (error: { code?: unknown, message?: unknown, statusCode?: unknown }, request: FastifyRequest): boolean {
  const raw = request.raw
  const gone = raw.aborted || raw.destroyed || raw.socket?.destroyed === true
  return gone && error.statusCode === 400 && ((typeof error.code === 'string' && ABORT_CODES.has(error.code)) || error.message === 'aborted')
}

// Registered first, so that it renders errors for every route registered after it.
export default fp(async function errorHandlerPlugin (fastify: FastifyInstance) {
  fastify.setErrorHandler(function errorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
    // The client went away mid-request: nothing of ours failed, and nobody is left to read an answer.
    if (isClientAbort(error, request)) {
      request.log.info({ err: { message: error.message, code: error.code } }, 'client aborted the request')
      return send(reply, 400, CLIENT_ABORTED)
    }
    const answered = sendServiceError(error, request, reply)
    if (answered !== undefined) return answered

    if (error.validation !== undefined) {
      if (error.validationContext === 'body') {
        const result = cleanCharFields(rawBody(request), request.routeOptions.schema?.body as SerializerSchema)
        return send(reply, 400, result.ok ? { non_field_errors: ['Invalid input.'] } : result.errors)
      }
      return send(reply, 400, { detail: 'Invalid request.' })
    }

    switch (error.code) {
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return send(reply, 415, { detail: `Unsupported media type "${request.headers['content-type'] ?? ''}" in request.` })
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        // Read (and drop) the rest first, within a bound: the client then reads the 413 instead of a reset.
        return drainBody(request.raw).then(() => send(reply, 413, { detail: 'Request body is too large.' }))
    }

    const status = error.statusCode ?? 500
    if (status >= 400 && status < 500) {
      // Fastify's and its plugins' 4xx messages describe the request, never the server.
      return send(reply, status, { detail: error.message })
    }
    request.log.error({ err: redactQueryParameters(error), request: { method: request.method, url: request.url } }, 'server error')
    return send(reply, 500, SERVER_ERROR)
  })
}, { name: 'simplejwt-error-handler' })
