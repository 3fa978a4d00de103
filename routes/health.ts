// Liveness and readiness for orchestrators and load balancers (not in simplejwt)
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ApiError } from '../src/domain/errors.js'
import { useComponents } from '../plugins/components.js'
import { DetailSchema, documented, ServiceUnavailableResponse } from '../src/schemas/common.js'
import { OK_EXAMPLES, StatusSchema } from '../src/schemas/health.js'
import { SERVICE_UNAVAILABLE } from '../plugins/error-handler.js'

const healthRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  useComponents(fastify, StatusSchema, DetailSchema)
  fastify.get('/live', {
    schema: {
      operationId: 'checkLiveness',
      summary: 'Liveness',
      description: 'The process is up and serving. Never touches the database.',
      tags: ['health'],
      security: [],
      response: { 200: documented(StatusSchema, 'Alive.', OK_EXAMPLES) }
    }
  }, async () => ({ status: 'ok' }))

  fastify.get('/ready', {
    schema: {
      operationId: 'checkReadiness',
      summary: 'Readiness',
      description: 'The service can answer token requests: its database answers `select 1` within DATABASE_TIMEOUT.',
      tags: ['health'],
      security: [],
      response: {
        200: documented(StatusSchema, 'Ready.', OK_EXAMPLES),
        503: ServiceUnavailableResponse
      }
    }
  }, async () => {
    // Bounded by DATABASE_TIMEOUT like every database call: unavailable when the database cannot answer.
    try {
      await fastify.simplejwt.database.ping()
    } catch {
      throw new ApiError(503, SERVICE_UNAVAILABLE)
    }
    return { status: 'ok' }
  })
}

export default healthRoutes
