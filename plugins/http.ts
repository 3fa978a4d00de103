import type { IncomingMessage } from 'node:http'
import fp from 'fastify-plugin'
import formbody from '@fastify/formbody'
import { Busboy, type BusboyInstance } from '@fastify/busboy'
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import { ApiError } from '../src/domain/errors.js'
import type { RawBody, SerializerSchema } from '../src/domain/drf-fields.js'

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

/** Strict UTF-8 that keeps a byte order mark, so that JSON.parse refuses it as Python's json does. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Where a body stops being UTF-8, in the words of Python's decoder (DRF decodes a JSON body with
 * codecs' StreamReader, which also leaves a sequence cut short by the end of the body undecoded):
 * `{ error }` with the message, or `{ end }`, the length of the decodable text.
 */
export function utf8Check (bytes: Uint8Array): { error: string } | { end: number } {
  const n = bytes.length
  let i = 0
  while (i < n) {
    const b = bytes[i]
    if (b < 0x80) { i++; continue }
    let need: number
    let lo = 0x80
    let hi = 0xbf
    if (b >= 0xc2 && b <= 0xdf) need = 1
    else if (b >= 0xe0 && b <= 0xef) { need = 2; if (b === 0xe0) lo = 0xa0; else if (b === 0xed) hi = 0x9f } else if (b >= 0xf0 && b <= 0xf4) { need = 3; if (b === 0xf0) lo = 0x90; else if (b === 0xf4) hi = 0x8f } else {
      return { error: `'utf-8' codec can't decode byte 0x${b.toString(16).padStart(2, '0')} in position ${i}: invalid start byte` }
    }
    for (let k = 1; k <= need; k++) {
      if (i + k >= n) return { end: i }
      const c = bytes[i + k]
      if (c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) {
        return {
          error: k === 1
            ? `'utf-8' codec can't decode byte 0x${b.toString(16).padStart(2, '0')} in position ${i}: invalid continuation byte`
            : `'utf-8' codec can't decode bytes in position ${i}-${i + k - 1}: invalid continuation byte`
        }
      }
    }
    i += need + 1
  }
  return { end: n }
}

function parseJson (request: FastifyRequest, bytes: Buffer, done: (err: Error | null, body?: unknown) => void) {
  // An empty body is no data at all, as DRF treats it: the fields are then "required".
  if (bytes.length === 0) return done(null, undefined)
  let text: string
  try {
    text = UTF8.decode(bytes)
  } catch {
    // Not UTF-8: Python's decoder message, never a silent U+FFFD (a login would then fail as a 401).
    const check = utf8Check(bytes)
    if ('error' in check) return done(new ApiError(400, { detail: `JSON parse error - ${check.error}` }))
    text = UTF8.decode(bytes.subarray(0, check.end))
  }
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

/** Django's DATA_UPLOAD_MAX_NUMBER_FIELDS and DATA_UPLOAD_MAX_NUMBER_FILES, with their messages. */
const MAX_FIELDS = 1000
const MAX_FILES = 100
/** RFC 2046's boundary, as Django checks it (`[ -~]{0,200}[!-~]`); a linear check, no regex. */
function validBoundary (boundary: string): boolean {
  if (boundary.length === 0 || boundary.length > 201) return false
  for (let i = 0; i < boundary.length; i++) {
    const c = boundary.charCodeAt(i)
    if (c < 0x20 || c > 0x7e) return false
  }
  return boundary.charCodeAt(boundary.length - 1) !== 0x20
}

/** The boundary parameter of a Content-Type, unquoted; undefined when absent. */
function boundaryOf (contentType: string): string | undefined {
  for (const param of contentType.split(';').slice(1)) {
    const eq = param.indexOf('=')
    if (eq === -1 || param.slice(0, eq).trim().toLowerCase() !== 'boundary') continue
    const value = param.slice(eq + 1).trim()
    return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value
  }
  return undefined
}

const multipartError = (reason: string) => new ApiError(400, { detail: `Multipart form parse error - ${reason}` })

/**
 * A multipart/form-data body, already read whole by Fastify within the body limit, parsed in
 * memory: no stream of ours outlives the request, so a client that goes away mid-upload is only
 * a failed body read. Fields as Django's QueryDict holds them (repeated names become arrays, the
 * last counts); a file is no string ("Not a valid string." where a field is expected), its bytes
 * dropped.
 */
function parseMultipart (request: FastifyRequest, bytes: Buffer, done: (err: Error | null, body?: unknown) => void) {
  // No body at all is an empty form: DRF does not even run its parser then.
  if (bytes.length === 0) return done(null, undefined)
  // Django's checks and words, in its order (django/http/multipartparser.py).
  const contentType = request.headers['content-type'] ?? ''
  for (let i = 0; i < contentType.length; i++) {
    if (contentType.charCodeAt(i) > 0x7f) return done(multipartError(`Invalid non-ASCII Content-Type in multipart: ${contentType}`))
  }
  const boundary = boundaryOf(contentType)
  if (boundary === undefined || !validBoundary(boundary)) {
    return done(multipartError(`Invalid boundary in multipart: ${boundary === undefined ? 'None' : boundary}`))
  }
  const fields: Record<string, unknown> = Object.create(null)
  const add = (rawName: string | undefined, value: unknown) => {
    // Django strips the name; a part without one is skipped.
    const name = rawName?.trim()
    if (name === undefined) return
    const previous = fields[name]
    fields[name] = previous === undefined ? value : [previous, value].flat()
  }
  let settled = false
  const settle = (err: Error | null, body?: unknown) => {
    if (settled) return
    settled = true
    done(err, body)
  }
  let parser: BusboyInstance
  try {
    parser = Busboy({
      headers: { 'content-type': contentType },
      // Django's rule: a part is a file when it names a non-empty filename, whatever its type.
      isPartAFile: (_name, _type, fileName) => fileName !== undefined && fileName !== '',
      limits: { fields: MAX_FIELDS, files: MAX_FILES, fieldSize: bytes.length, fieldNameSize: bytes.length, headerPairs: 100 }
    })
  } catch (err) {
    return settle(multipartError((err as Error).message))
  }
  parser.on('field', (name: string | undefined, value: string) => add(name, value))
  parser.on('file', (name: string | undefined, stream: NodeJS.ReadableStream) => {
    stream.on('error', () => {})
    stream.resume()
    add(name, {})
  })
  parser.on('fieldsLimit', () => settle(new ApiError(400, { detail: 'The number of GET/POST parameters exceeded settings.DATA_UPLOAD_MAX_NUMBER_FIELDS.' })))
  parser.on('filesLimit', () => settle(new ApiError(400, { detail: 'The number of files exceeded settings.DATA_UPLOAD_MAX_NUMBER_FILES.' })))
  parser.on('error', (err: unknown) => settle(multipartError(err instanceof Error ? err.message : String(err))))
  parser.on('finish', () => settle(null, fields))
  parser.end(bytes)
}

/** Over-limit bodies are read and dropped up to this much, so that the client gets to read its 413. */
export const DRAIN_BYTES = 4 * 1024 * 1024
export const DRAIN_MS = 5_000

/**
 * Reads and discards what is left of a request body, up to `maxBytes` or `maxMs`; resolves then or
 * when the body ends or the client goes away. Closing while the client still sends makes its
 * kernel reset the connection, and the client then never sees the answer (EPIPE, ECONNRESET).
 */
export function drainBody (raw: IncomingMessage, maxBytes = DRAIN_BYTES, maxMs = DRAIN_MS): Promise<void> {
  if (raw.complete || raw.destroyed) return Promise.resolve()
  return new Promise(resolve => {
    let received = 0
    const timer = setTimeout(finish, maxMs)
    function onData (chunk: Buffer) {
      received += chunk.length
      if (received > maxBytes) finish()
    }
    function finish () {
      clearTimeout(timer)
      raw.off('data', onData)
      raw.off('end', finish)
      raw.off('error', finish)
      raw.off('close', finish)
      resolve()
    }
    raw.on('data', onData)
    raw.on('end', finish)
    raw.on('error', finish)
    raw.on('close', finish)
    raw.resume()
  })
}

/** The request body with what DRF's serializers need to know of its origin. */
export function rawBody (request: FastifyRequest): RawBody {
  return { body: request.body, form: request.jsonText === undefined && request.body !== undefined, jsonText: request.jsonText }
}

const normalise = (path: string) => path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path

function allowHeader (methods: Set<string>): string {
  const order = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']
  return order.filter(m => methods.has(m) || m === 'OPTIONS').join(', ')
}

/** Django's security middleware headers, on every answer (also those written on the raw socket: src/app.ts). */
export const SECURITY_HEADERS = { 'x-frame-options': 'DENY', 'x-content-type-options': 'nosniff', 'referrer-policy': 'same-origin' } as const

/**
 * RFC 6749 §5.1: an answer that carries a token must not be stored by any cache (`Pragma` for
 * HTTP/1.0 caches). Sent on every answer of the token routes, errors included (src/plugin.ts).
 */
export const NO_STORE_HEADERS = { 'cache-control': 'no-store', pragma: 'no-cache' } as const

/** The token routes' onSend hook: NO_STORE_HEADERS on every answer of the scope it is added to. */
export function noStore (_request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void) {
  reply.headers(NO_STORE_HEADERS)
  done(null, payload)
}

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
  /** The path as the first route registered it (with its trailing slash, if any). */
  url: string
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

/** The methods a path may be asked for; the others of a known path get 405 (or OPTIONS metadata). */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

/** Marks the routes registered by answerOtherMethods: they are no route of the API's own. */
const FALLBACK = 'simplejwtFallback'

/** The routes each library-mode scope described, for answerOtherMethods (set by the plugin below). */
const described = new WeakMap<FastifyInstance, Map<string, RouteInfo>>()

/**
 * A request for a known path with a method it does not have, as DRF answers it: authenticated
 * first on a guarded path (APIView.initial: 401 before 405), then 405 with `Allow`, or DRF's
 * SimpleMetadata for OPTIONS.
 */
async function otherMethod (fastify: FastifyInstance, info: RouteInfo, request: FastifyRequest, reply: FastifyReply) {
  reply.headers(SECURITY_HEADERS)
  if (info.guarded) await fastify.simplejwt.verifyRequest(request)
  reply.header('allow', allowHeader(info.methods))
  if (request.method !== 'OPTIONS') throw new ApiError(405, { detail: `Method "${request.method}" not allowed.` })
  return reply.code(200).send({
    name: info.name ?? '',
    description: info.description ?? '',
    renders: ['application/json'],
    parses: PARSED_TYPES,
    ...(Object.keys(info.actions).length > 0 ? { actions: info.actions } : {})
  })
}

/**
 * HTTP plumbing shared by every route: DRF's three body parsers with one body limit, Django's
 * security headers, `Allow`, OPTIONS metadata and 405 for a known path with another method.
 * With `notFound` (the standalone server, which owns every URL) these come from a not-found
 * handler that also answers JSON 404s (spec D11). Without it (inside an application, whose 404s
 * are its own) no not-found handler and no wildcard route is set: once the routes are registered,
 * answerOtherMethods adds one route per known path and missing method.
 */
export default fp(async function httpPlugin (fastify: FastifyInstance, options: { bodyLimit?: number, notFound?: boolean }) {
  const bodyLimit = options.bodyLimit ?? fastify.initialConfig.bodyLimit ?? 1024 * 1024
  // Already in force here (the standalone server installs it for every route): once is enough.
  if (fastify.hasRequestDecorator('jsonText')) return
  const routes = new Map<string, RouteInfo>()
  fastify.decorateRequest('jsonText', undefined)

  fastify.addHook('onRoute', (route: RouteOptions) => {
    if ((route.config as Record<string, unknown> | undefined)?.[FALLBACK] === true) return
    route.onSend = [...[route.onSend ?? []].flat(), headersHook(describe(route))]
  })

  /** What 405s, OPTIONS and `Allow` need to know of a route's path; undefined for a wildcard. */
  function describe (route: RouteOptions): RouteInfo | undefined {
    if (route.url.includes('*')) return undefined
    const key = normalise(route.url)
    let info = routes.get(key)
    if (info === undefined) {
      info = { url: route.url, methods: new Set<string>(), guarded: false, actions: {} }
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
  // Each reads the whole body within the limit before parsing it (Fastify handles the stream).
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit }, parseJson)
  await fastify.register(formbody, { bodyLimit })
  fastify.addContentTypeParser('multipart/form-data', { parseAs: 'buffer', bodyLimit }, parseMultipart)

  if (options.notFound === false) {
    described.set(fastify, routes)
    return
  }
  fastify.setNotFoundHandler(async function notFound (request: FastifyRequest, reply: FastifyReply) {
    const info = routes.get(normalise(request.url.split('?')[0]))
    if (info === undefined) {
      reply.headers(SECURITY_HEADERS)
      throw new ApiError(404, { detail: 'Not found.' })
    }
    return otherMethod(fastify, info, request, reply)
  })
}, { name: 'simplejwt-http', dependencies: ['simplejwt-error-handler'] })

/**
 * Inside an application: for every path the scope's routes serve (parameters included), one route
 * per method it lacks, answering 405 or OPTIONS metadata (otherMethod). Called once the scope's
 * routes are all registered; nothing outside those paths is touched. Hidden from OpenAPI.
 */
export function answerOtherMethods (scope: FastifyInstance): void {
  const routes = described.get(scope)
  if (routes === undefined) return
  for (const info of routes.values()) {
    // Fastify answers HEAD for every GET route itself (exposeHeadRoutes).
    const missing = METHODS.filter(method => !info.methods.has(method) && !(method === 'HEAD' && info.methods.has('GET')))
    if (missing.length === 0 || !info.url.startsWith(scope.prefix)) continue
    scope.route({
      method: missing,
      url: info.url.slice(scope.prefix.length),
      config: { [FALLBACK]: true },
      schema: { hide: true },
      handler: (request, reply) => otherMethod(scope, info, request, reply)
    })
  }
}
