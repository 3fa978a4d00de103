// DRF's serializer step for every route with a body: the body cleaned in DRF's words before the
// schema sees it; mirrors rest_framework_simplejwt/views.py (TokenViewBase) and DRF's Serializer.
import type { FastifyRequest, RouteOptions } from 'fastify'
import { ValidationError } from '../src/domain/errors.js'
import type { Caller } from '../src/domain/serializers.js'
import { charFields, type Fields, serialize, type SerializerSchema } from '../src/domain/drf-fields.js'
import { rawBody } from './http.js'

/**
 * A preValidation hook that runs a Serializer's fields over the raw body (JSON, form or multipart)
 * as DRF does (src/domain/drf-fields.ts) and replaces the body with the clean data, which the schema
 * then checks. `validate` runs with the field validators on the clean data and may add errors (a
 * unique check): every failing field is reported at once, in DRF's words.
 */
export function serializer (fields: Fields, validate?: (data: Record<string, string | boolean>, errors: Record<string, string[]>) => Promise<void>) {
  return async function serializer (request: FastifyRequest): Promise<void> {
    const { data, errors } = serialize(rawBody(request), fields)
    if (validate !== undefined) await validate(data, errors)
    if (Object.keys(errors).length > 0) throw new ValidationError(errors)
    request.body = data
  }
}

/**
 * An onRoute hook giving each route with a body a preValidation hook that runs the view's
 * serializer on the body before the schema sees it, as DRF does: numbers become strings, values are
 * stripped, and every bad field is reported in DRF's words (src/domain/drf-fields.ts). Handlers then receive
 * clean, stripped strings. The route's schema is read into CharFields once here, not on every request.
 */
export function withSerializer (route: RouteOptions): void {
  const schema = route.schema?.body as SerializerSchema | undefined
  if (schema === undefined) return
  route.preValidation = [serializer(charFields(schema)), ...[route.preValidation ?? []].flat()]
}

/** Who is asking, as the token rules need it: the client's address and agent, and the request's log. */
export function callerOf (request: FastifyRequest): Caller {
  return { ip: request.ip, userAgent: request.headers['user-agent'], log: request.log }
}
