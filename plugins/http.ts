import { Transform } from 'node:stream'
import fp from 'fastify-plugin'
import formbody from '@fastify/formbody'
import multipart from '@fastify/multipart'
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import { ApiError } from '../src/errors.js'
import type { RawBody, SerializerSchema } from '../src/fields.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The text of a JSON body, to read number literals as Python would. */
    jsonText: string | undefined
  }
}

/** Nesting deeper than this is refused before parsing (spec D7); token bodies are flat. */
export const MAX_JSON_DEPTH = 32
/** The content types DRF parses by default, in its order. */
export const PARSED_TYPES = ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data']

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

function parseJson (request: FastifyRequest, text: string, done: (err: Error | null, body?: unknown) => void) {
  // An empty body is no data at all, as DRF treats it: the fields are then "required".
  if (text === '') return done(null, undefined)
  if (exceedsJsonDepth(text, MAX_JSON_DEPTH)) {
    return done(new ApiError(400, { detail: `JSON parse error - nesting deeper than ${MAX_JSON_DEPTH} levels` }))
  }
  try {
    const body = JSON.parse(text)
    request.jsonText = text
    done(null, body)
  } catch (err) {
    done(new ApiError(400, { detail: `JSON parse error - ${(err as Error).message}` }))
  }
}

export const isMultipart = (request: FastifyRequest) => request.headers['content-type']?.toLowerCase().startsWith('multipart/') === true

/** The request body with what DRF's serializers need to know of its origin. */
export function rawBody (request: FastifyRequest): RawBody {
  return { body: request.body, form: request.jsonText === undefined && request.body !== undefined, jsonText: request.jsonText }
}

const normalise = (path: string) => path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path

function allowHeader (methods: Set<string>): string {
  const order = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']
  return order.filter(m => methods.has(m) || m === 'OPTIONS').join(', ')
}

/** Django's security middleware headers, on every answer. */
const SECURITY_HEADERS = { 'x-frame-options': 'DENY', 'x-content-type-options': 'nosniff', 'referrer-policy': 'same-origin' } as const

/**
 * A route's own onSend hook: nothing to look up per request. `Allow` is settled once every route
 * is registered, so it is computed at the route's first answer.
 */
function headersHook (info: RouteInfo | undefined) {
  return function headers (_request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void) {
    reply.headers(SECURITY_HEADERS)
    if (info !== undefined) reply.header('allow', info.allow ??= allowHeader(info.methods))
    done(null, payload)
  }
}

interface RouteInfo {
  methods: Set<string>
  /** The `Allow` header, once computed. */
  allow?: string
  /** Guarded paths document a security requirement; they authenticate before 405 and OPTIONS. */
  guarded: boolean
  name?: string
  description?: string
  actions: Record<string, Record<string, unknown>>
}

/** DRF's SimpleMetadata `actions` entry for a body schema of CharFields. */
function actionFields (schema: SerializerSchema | undefined): Record<string, unknown> {
  const required = new Set(schema?.required ?? [])
  return Object.fromEntries(Object.entries(schema?.properties ?? {}).map(([name, field]) => [name, {
    type: 'string',
    required: required.has(name),
    read_only: false,
    label: name.charAt(0).toUpperCase() + name.slice(1).replaceAll('_', ' '),
    ...(field.maxLength === undefined ? {} : { max_length: field.maxLength })
  }]))
}

/**
 * HTTP plumbing shared by every route: DRF's three body parsers with one body limit, Django's
 * security headers, `Allow`, OPTIONS metadata, 405 for a known path with another method, and
 * JSON 404s (spec D11).
 */
export default fp(async function httpPlugin (fastify: FastifyInstance, options: { bodyLimit?: number }) {
  const bodyLimit = options.bodyLimit ?? fastify.initialConfig.bodyLimit ?? 1024 * 1024
  // Already in force here (the standalone server installs it for every route): once is enough.
  if (fastify.hasRequestDecorator('jsonText')) return
  const routes = new Map<string, RouteInfo>()
  fastify.decorateRequest('jsonText', undefined)

  fastify.addHook('onRoute', (route: RouteOptions) => {
    route.onSend = [...[route.onSend ?? []].flat(), headersHook(describe(route))]
  })

  /** What 405s, OPTIONS and `Allow` need to know of a route's path; undefined for a pattern. */
  function describe (route: RouteOptions): RouteInfo | undefined {
    if (route.url.includes('*') || route.url.includes(':')) return undefined
    const key = normalise(route.url)
    let info = routes.get(key)
    if (info === undefined) {
      info = { methods: new Set<string>(), guarded: false, actions: {} }
      routes.set(key, info)
    }
    const schema = route.schema as { security?: unknown[], summary?: string, description?: string, body?: SerializerSchema } | undefined
    for (const method of [route.method].flat()) {
      info.methods.add(method)
      if (schema?.body !== undefined) info.actions[method] = actionFields(schema.body)
    }
    info.guarded ||= (schema?.security?.length ?? 0) > 0
    info.name ??= schema?.summary
    info.description ??= schema?.description
    return info
  }

  // Only DRF's parsers: Fastify's own text/plain parser would accept bodies DRF answers 415 to.
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, parseJson)
  await fastify.register(formbody)
  await fastify.register(multipart, {
    attachFieldsToBody: 'keyValues',
    limits: { fields: 10, fieldSize: bodyLimit, files: 0, parts: 10, headerPairs: 100 }
  })

  // Multipart bodies are streamed to busboy, past Fastify's own bodyLimit: count them here.
  fastify.addHook('preParsing', async (request: FastifyRequest, _reply: FastifyReply, payload) => {
    if (!isMultipart(request)) return payload
    const tooLarge = () => Object.assign(new Error('Request body is too large.'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 })
    if (Number(request.headers['content-length']) > bodyLimit) throw tooLarge()
    let received = 0
    const counted = new Transform({
      transform (chunk: Buffer, _encoding, callback) {
        received += chunk.length
        callback(received > bodyLimit ? tooLarge() : null, chunk)
      }
    })
    payload.on('error', (err) => counted.destroy(err))
    return payload.pipe(counted)
  })

  fastify.setNotFoundHandler(async function notFound (request: FastifyRequest, reply: FastifyReply) {
    reply.headers(SECURITY_HEADERS)
    const info = routes.get(normalise(request.url.split('?')[0]))
    if (info === undefined) throw new ApiError(404, { detail: 'Not found.' })
    // DRF authenticates before it looks at the method (APIView.initial), so 401 comes first.
    if (info.guarded) await fastify.simplejwt.verifyRequest(request)
    reply.header('allow', allowHeader(info.methods))
    if (request.method !== 'OPTIONS') throw new ApiError(405, { detail: `Method "${request.method}" not allowed.` })
    // DRF's SimpleMetadata.
    return reply.code(200).send({
      name: info.name ?? '',
      description: info.description ?? '',
      renders: ['application/json'],
      parses: PARSED_TYPES,
      ...(Object.keys(info.actions).length > 0 ? { actions: info.actions } : {})
    })
  })
}, { name: 'http', dependencies: ['error-handler'] })
