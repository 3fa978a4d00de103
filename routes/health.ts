// Liveness and readiness for orchestrators and load balancers (not in simplejwt)
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { sql } from 'drizzle-orm'
import { ApiError } from '../src/errors.js'
import { DetailSchema } from '../src/schemas.js'
import { SERVICE_UNAVAILABLE } from '../plugins/error-handler.js'

/** Readiness waits this long for the database before saying it is unavailable. */
export const READY_TIMEOUT_MS = 1500

const StatusSchema = Type.Object({ status: Type.String({ examples: ['ok'] }) })

const healthRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/live', {
    schema: {
      operationId: 'live',
      summary: 'Liveness',
      description: 'The process is up and serving. Never touches the database.',
      tags: ['health'],
      response: { 200: { ...StatusSchema, description: 'Alive.' } }
    }
  }, async () => ({ status: 'ok' }))

  fastify.get('/ready', {
    schema: {
      operationId: 'ready',
      summary: 'Readiness',
      description: 'The service can answer token requests: its database answers within 1.5 s.',
      tags: ['health'],
      response: {
        200: { ...StatusSchema, description: 'Ready.' },
        503: { ...DetailSchema, description: 'The database does not answer; route traffic elsewhere.' }
      }
    }
  }, async () => {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new ApiError(503, SERVICE_UNAVAILABLE)), READY_TIMEOUT_MS)
    })
    try {
      await Promise.race([fastify.db.execute(sql`select 1`), timeout])
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
