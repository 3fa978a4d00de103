import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ApiError } from '../src/errors.js'

/** The only body a server fault ever gets: nothing about the fault itself. */
export const SERVER_ERROR = { detail: 'A server error occurred.' }

interface FieldSchema { maxLength?: number }
interface ObjectSchema { properties?: Record<string, FieldSchema>, required?: string[] }

// Python's names for JSON types, as DRF's "Expected a dictionary, but got list." uses them.
function pythonType (value: unknown): string {
  if (Array.isArray(value)) return 'list'
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float'
  if (typeof value === 'boolean') return 'bool'
  return 'str'
}

/** DRF's first complaint about one CharField value, or undefined when it has none. */
function fieldMessage (value: unknown, schema: FieldSchema, required: boolean): string | undefined {
  if (value === undefined) return required ? 'This field is required.' : undefined
  if (value === null) return 'This field may not be null.'
  if (typeof value !== 'string') return 'Not a valid string.'
  if (value.trim() === '') return 'This field may not be blank.'
  if (schema.maxLength !== undefined && value.length > schema.maxLength) {
    return `Ensure this field has no more than ${schema.maxLength} characters.`
  }
  if (value.includes('\u0000')) return 'Null characters are not allowed.'
  return undefined
}

/**
 * DRF's 400 body for a body that failed schema validation. Ajv only says that it failed; the
 * message comes from the value itself, so that every field is reported in DRF's words and order.
 */
export function drfValidationErrors (body: unknown, schema: ObjectSchema | undefined): Record<string, string[]> {
  if (body === undefined || body === null) {
    // No body at all is an empty form to DRF; a JSON `null` is "no data".
    if (body === null) return { non_field_errors: ['No data provided'] }
    body = {}
  }
  if (typeof body !== 'object' || Array.isArray(body)) {
    return { non_field_errors: [`Invalid data. Expected a dictionary, but got ${pythonType(body)}.`] }
  }
  const errors: Record<string, string[]> = {}
  const required = new Set(schema?.required ?? [])
  for (const [name, field] of Object.entries(schema?.properties ?? {})) {
    const message = fieldMessage((body as Record<string, unknown>)[name], field, required.has(name))
    if (message !== undefined) errors[name] = [message]
  }
  return Object.keys(errors).length > 0 ? errors : { non_field_errors: ['Invalid input.'] }
}

function send (reply: FastifyReply, status: number, body: unknown) {
  // simplejwt's authenticate_header(): the first accepted scheme names the challenge.
  if (status === 401) reply.header('www-authenticate', `${reply.server.config?.AUTH_HEADER_TYPES[0] ?? 'Bearer'} realm="api"`)
  // Error bodies bypass the routes' response serializers: they are sent exactly as built.
  return reply.code(status).type('application/json; charset=utf-8').serializer(JSON.stringify).send(body)
}

// Registered first, so that it renders errors for every route registered after it.
export default fp(async function errorHandlerPlugin (fastify: FastifyInstance) {
  fastify.setErrorHandler(function errorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
    if (error instanceof ApiError) return send(reply, error.statusCode, error.body)

    if (error.validation !== undefined) {
      if (error.validationContext === 'body') {
        const schema = request.routeOptions.schema?.body as ObjectSchema | undefined
        return send(reply, 400, drfValidationErrors(request.body, schema))
      }
      return send(reply, 400, { detail: 'Invalid request.' })
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
