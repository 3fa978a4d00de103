import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ApiError, Throttled } from '../src/errors.js'
import { cleanCharFields, type SerializerSchema } from '../src/fields.js'
import { isMultipart, rawBody } from './http.js'
import { isDatabaseUnavailable } from '../src/db/client.js'

const MULTIPART_ERROR = /^(?:Multipart: |Unexpected end of (?:form|multipart data)|Malformed part header|The needle cannot have a length bigger than)/

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

/**
 * Answers the errors the service raises itself: DRF's (ApiError, with `Retry-After` when throttled),
 * and 503 while the database is away. Undefined for any other error. Also used by
 * `fastify.authenticate`, which answers on an application's routes whatever its error handler.
 */
export function sendServiceError (error: unknown, request: FastifyRequest, reply: FastifyReply, headerTypes?: string[]): FastifyReply | undefined {
  if (error instanceof Throttled) reply.header('retry-after', String(error.retryAfter))
  if (error instanceof ApiError) return send(reply, error.statusCode, error.body, headerTypes)
  if (isDatabaseUnavailable(error)) {
    const { message, code, cause } = error as FastifyError
    request.log.warn({ err: { message, code: (cause as { code?: string } | undefined)?.code ?? code } }, 'database unavailable')
    reply.header('retry-after', '5')
    return send(reply, 503, SERVICE_UNAVAILABLE)
  }
  return undefined
}

// Registered first, so that it renders errors for every route registered after it.
export default fp(async function errorHandlerPlugin (fastify: FastifyInstance) {
  fastify.setErrorHandler(function errorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
    const answered = sendServiceError(error, request, reply)
    if (answered !== undefined) return answered

    if (error.validation !== undefined) {
      if (error.validationContext === 'body') {
        const result = cleanCharFields(rawBody(request), request.routeOptions.schema?.body as SerializerSchema)
        return send(reply, 400, result.ok ? { non_field_errors: ['Invalid input.'] } : result.errors)
      }
      return send(reply, 400, { detail: 'Invalid request.' })
    }

    // busboy's complaints about a malformed multipart body carry no status: they are the client's.
    if (error.statusCode === undefined && MULTIPART_ERROR.test(error.message) && isMultipart(request)) {
      const reason = error.message === 'Multipart: Boundary not found'
        ? 'Invalid boundary in multipart: None'
        // busboy takes at most 252 characters (RFC 2046 allows 70); Django would search the body for it.
        : error.message.startsWith('The needle') ? 'Invalid boundary in multipart: too long' : error.message
      return send(reply, 400, { detail: `Multipart form parse error - ${reason}` })
    }

    switch (error.code) {
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return send(reply, 415, { detail: `Unsupported media type "${request.headers['content-type'] ?? ''}" in request.` })
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return send(reply, 413, { detail: 'Request body is too large.' })
    }

    const status = error.statusCode ?? 500
    if (status >= 400 && status < 500) {
      // Fastify's and its plugins' 4xx messages describe the request, never the server.
      return send(reply, status, { detail: error.message })
    }
    request.log.error({ err: error, request: { method: request.method, url: request.url } }, 'server error')
    return send(reply, 500, SERVER_ERROR)
  })
}, { name: 'error-handler' })
