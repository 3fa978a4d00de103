// The named schemas: every body the routes share, each listed once under the OpenAPI document's
// `components.schemas` by its `$id` and referenced (`$ref`) wherever a route answers with it, so that
// generated clients get one type per body (TokenError, TokenPair, …) instead of a copy per operation.
import type { TSchema } from '@sinclair/typebox'
import { DetailSchema, EmptySchema, FieldErrorsSchema, TokenErrorSchema, ValidationErrorSchema } from './common.js'
import { TokenPairSchema, TokenRefreshResponseSchema } from './token.js'
import { SlidingTokenSchema } from './sliding.js'
import { HelloSchema } from './hello.js'
import { StatusSchema } from './health.js'
import { JsonWebKeySetSchema, JwkSchema } from './jwks.js'
import { AdminUserSchema, PageSchema } from './admin-users.js'

/** Every named schema, by `$id`. */
export const COMPONENTS: ReadonlyMap<string, TSchema> = new Map([
  TokenErrorSchema, DetailSchema, FieldErrorsSchema, ValidationErrorSchema, EmptySchema,
  TokenPairSchema, TokenRefreshResponseSchema, SlidingTokenSchema, HelloSchema, StatusSchema,
  JwkSchema, JsonWebKeySetSchema, AdminUserSchema, PageSchema
].map(schema => [schema.$id as string, schema]))

/** The `$ref`s a schema holds, at any depth. */
function references (schema: unknown, found: Set<string> = new Set()): Set<string> {
  if (typeof schema !== 'object' || schema === null) return found
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$ref' && typeof value === 'string') found.add(value)
    else references(value, found)
  }
  return found
}

/** The named schemas `schemas` need: themselves and, in turn, every named schema they reference. */
export function componentsOf (schemas: TSchema[]): TSchema[] {
  const needed = new Map<string, TSchema>()
  const queue = [...schemas]
  for (let schema = queue.shift(); schema !== undefined; schema = queue.shift()) {
    const id = schema.$id
    if (id === undefined) throw new Error('componentsOf(): a schema without $id')
    if (needed.has(id)) continue
    needed.set(id, schema)
    for (const name of references(schema)) {
      const component = COMPONENTS.get(name)
      if (component === undefined) throw new Error(`${id} references ${name}, which is no named schema`)
      queue.push(component)
    }
  }
  return [...needed.values()]
}
