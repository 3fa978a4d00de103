// The named schemas (src/schemas/components.ts) in a route scope: Fastify's serializer resolves the
// routes' `$ref`s against them, and @fastify/swagger lists them under `components.schemas`.
import type { FastifyInstance } from 'fastify'
import type { TSchema } from '@sinclair/typebox'
import { componentsOf } from '../src/schemas/components.js'

/**
 * Adds `schemas`, and the named schemas they reference, to this scope (`fastify.addSchema`) unless an
 * enclosing scope has them already. An application schema of the same `$id` that differs stops
 * start-up: the routes would otherwise answer with, and document, the application's schema.
 */
export function useComponents (fastify: FastifyInstance, ...schemas: TSchema[]): void {
  for (const schema of componentsOf(schemas)) {
    const id = schema.$id as string
    const present = fastify.getSchema(id)
    if (present === undefined) {
      fastify.addSchema(schema)
    } else if (JSON.stringify(present) !== JSON.stringify(schema)) {
      throw new Error(`fastify-simplejwt names a schema "${id}" (fastify.addSchema), and the application has a different one of that $id: rename the application's`)
    }
  }
}
