import fp from 'fastify-plugin'
import formbody from '@fastify/formbody'
import multipart from '@fastify/multipart'
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import { ApiError } from '../src/errors.js'

/** Nesting deeper than this is refused before parsing (spec D7); token bodies are flat. */
export const MAX_JSON_DEPTH = 32

/** True when a JSON text nests arrays or objects deeper than `max` (strings are skipped). */
export function exceedsJsonDepth (text: string, max: number): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++
      else if (c === 0x22) inString = false
    } else if (c === 0x22) {
      inString = true
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true
    } else if (c === 0x5d || c === 0x7d) {
      depth--
    }
  }
  return false
}

function parseJson (_request: FastifyRequest, text: string, done: (err: Error | null, body?: unknown) => void) {
  // An empty body is no data at all, as DRF treats it: the fields are then "required".
  if (text.trim() === '') return done(null, undefined)
  if (exceedsJsonDepth(text, MAX_JSON_DEPTH)) {
    return done(new ApiError(400, { detail: `JSON parse error - nesting deeper than ${MAX_JSON_DEPTH} levels` }))
  }
  try {
    done(null, JSON.parse(text))
  } catch (err) {
    done(new ApiError(400, { detail: `JSON parse error - ${(err as Error).message}` }))
  }
}

const normalise = (path: string) => path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path

function allowHeader (methods: Set<string>): string {
  const order = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']
  return order.filter(m => methods.has(m) || m === 'OPTIONS').join(', ')
}

/**
 * HTTP plumbing shared by every route: DRF's three body parsers, Django's security headers,
 * `Allow`, 405 for a known path with another method, and JSON 404s (spec D11).
 */
export default fp(async function httpPlugin (fastify: FastifyInstance) {
  // Methods answered on each path, for `Allow`, 405 and OPTIONS as Django REST framework does,
  // and the paths that need authentication (those documenting a security requirement).
  const registry = new Map<string, Set<string>>()
  const guarded = new Set<string>()

  fastify.addHook('onRoute', (route: RouteOptions) => {
    if (route.url.includes('*') || route.url.includes(':')) return
    const key = normalise(route.url)
    const methods = registry.get(key) ?? new Set<string>()
    for (const method of [route.method].flat()) methods.add(method)
    registry.set(key, methods)
    if (((route.schema as { security?: unknown[] } | undefined)?.security?.length ?? 0) > 0) guarded.add(key)
  })

  // Only DRF's parsers: Fastify's own text/plain parser would accept bodies DRF answers 415 to.
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, parseJson)
  await fastify.register(formbody)
  await fastify.register(multipart, {
    attachFieldsToBody: 'keyValues',
    limits: { fields: 10, fieldSize: 16 * 1024, files: 0, parts: 10, headerPairs: 100 }
  })

  fastify.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('x-frame-options', 'DENY')
    reply.header('x-content-type-options', 'nosniff')
    reply.header('referrer-policy', 'same-origin')
    const methods = registry.get(normalise(request.routeOptions.url ?? ''))
    if (methods !== undefined) reply.header('allow', allowHeader(methods))
  })

  fastify.setNotFoundHandler(async function notFound (request: FastifyRequest, reply: FastifyReply) {
    const path = normalise(request.url.split('?')[0])
    const methods = registry.get(path)
    if (methods === undefined) throw new ApiError(404, { detail: 'Not found.' })
    // DRF authenticates before it looks at the method (APIView.initial), so 401 comes first.
    if (guarded.has(path)) await fastify.authenticate(request)
    reply.header('allow', allowHeader(methods))
    if (request.method === 'OPTIONS') return reply.code(200).send({ name: path, renders: ['application/json'], parses: ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'] })
    throw new ApiError(405, { detail: `Method "${request.method}" not allowed.` })
  })
}, { name: 'http', dependencies: ['error-handler'] })
