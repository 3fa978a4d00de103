// DRF's serializer step for every route with a body: the body cleaned in DRF's words before the
// schema sees it; mirrors rest_framework_simplejwt/views.py (TokenViewBase) and DRF's Serializer.
import type { FastifyRequest, RouteOptions } from 'fastify'
import { ValidationError } from '../src/domain/errors.js'
import type { Caller } from '../src/domain/serializers.js'
import { cleanCharFields, type SerializerSchema } from '../src/domain/drf-fields.js'
import { rawBody } from './http.js'

/**
 * An onRoute hook giving each route with a body a preValidation hook that runs the view's
 * serializer on the body before the schema sees it, as DRF does: numbers become strings, values are
 * stripped, and every bad field is reported in DRF's words (src/domain/drf-fields.ts). Handlers then receive
 * clean, stripped strings. The route's schema is looked up once here, not on every request.
 */
export function withSerializer (route: RouteOptions): void {
  const schema = route.schema?.body as SerializerSchema | undefined
  if (schema === undefined) return
  const serializer = async function serializer (request: FastifyRequest): Promise<void> {
    const result = cleanCharFields(rawBody(request), schema)
    if (!result.ok) throw new ValidationError(result.errors)
    request.body = result.data
  }
  route.preValidation = [serializer, ...[route.preValidation ?? []].flat()]
}

/** Who is asking, as the token rules need it: the client's address and agent, and the request's log. */
export function callerOf (request: FastifyRequest): Caller {
  return { ip: request.ip, userAgent: request.headers['user-agent'], log: request.log }
}
