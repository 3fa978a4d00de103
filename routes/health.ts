// Liveness and readiness for orchestrators and load balancers (not in simplejwt)
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { sql } from 'drizzle-orm'
import { ApiError } from '../src/domain/errors.js'
import { documented, ServiceUnavailableResponse } from '../src/schemas.js'
import { SERVICE_UNAVAILABLE } from '../plugins/error-handler.js'

/** Readiness waits this long for the database before saying it is unavailable. */
export const READY_TIMEOUT_MS = 1500

const StatusSchema = Type.Object({ status: Type.String({ description: 'Always `ok`.', examples: ['ok'] }) })
const OK_EXAMPLES = { ok: { summary: 'Up', value: { status: 'ok' } } }

const healthRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
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
      description: 'The service can answer token requests: its database answers within 1.5 s.',
      tags: ['health'],
      security: [],
      response: {
        200: documented(StatusSchema, 'Ready.', OK_EXAMPLES),
        503: ServiceUnavailableResponse
      }
    }
  }, async () => {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new ApiError(503, SERVICE_UNAVAILABLE)), READY_TIMEOUT_MS)
    })
    try {
      await Promise.race([fastify.simplejwt.db.execute(sql`select 1`), timeout])
    } catch (err) {
      if (err instanceof ApiError) throw err
      throw new ApiError(503, SERVICE_UNAVAILABLE)
    } finally {
      clearTimeout(timer)
    }
    return { status: 'ok' }
  })
}

export default healthRoutes
