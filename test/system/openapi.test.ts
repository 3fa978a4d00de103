// The OpenAPI document's quality, for the people reading it in Swagger UI and the generators reading
// /docs/json: what Redocly's recommended rules check in CI (`npm run openapi:lint`), and what they leave out.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { build } from '../helper.js'
import { TOKEN_ERROR_CODES } from '../../src/schemas/common.js'

interface Media { schema?: unknown, example?: unknown, examples?: Record<string, { summary?: string, value: unknown }> }
interface Response { description?: string, headers?: Record<string, unknown>, content?: Record<string, Media> }
interface Operation {
  operationId?: string
  summary?: string
  description?: string
  tags?: string[]
  security?: Array<Record<string, string[]>>
  requestBody?: { content: Record<string, Media> }
  responses: Record<string, Response>
}
interface Document {
  info: { title: string, version: string, description?: string, license?: { name: string, url?: string } }
  servers?: Array<{ url: string }>
  tags?: Array<{ name: string, description?: string }>
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, { properties?: Record<string, { enum?: string[] }> }> }
}

const app = await build(t)
const doc = app.swagger() as unknown as Document
const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
  Object.entries(item).map(([method, operation]) => ({ name: `${method.toUpperCase()} ${path}`, operation })))
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string, license: string }

/** True when a media object carries at least one example. */
const hasExample = (media: Media | undefined) =>
  media !== undefined && (media.example !== undefined || Object.keys(media.examples ?? {}).length > 0)

t.test('info, license, servers and tags', async t => {
  t.equal(doc.info.version, pkg.version, 'info.version is the package version')
  t.equal(doc.info.license?.name, pkg.license, 'info.license is the package license')
  t.type(doc.info.license?.url, 'string')
  t.match(doc.info.description, /Authorize/, 'the description says how to try the API')
  // Relative: Swagger UI's "Try it out" calls whichever host and port served the page.
  t.same(doc.servers, [{ url: '/', description: 'This service' }])
  const declared = new Set((doc.tags ?? []).map(tag => tag.name))
  for (const tag of doc.tags ?? []) t.ok(tag.description, `tag ${tag.name} is described`)
  for (const { name, operation } of operations) {
    for (const tag of operation.tags ?? []) t.ok(declared.has(tag), `${name}: tag ${tag} is declared`)
  }
})

t.test('every operation: a method-like operationId, a summary, a description and its security', async t => {
  t.ok(operations.length >= 9)
  for (const { name, operation } of operations) {
    t.match(operation.operationId, /^[a-z]+(?:[A-Z][a-z]+)*$/, `${name}: operationId is a camelCase method name`)
    t.ok((operation.summary ?? '').length > 0, `${name}: summary`)
    t.ok((operation.description ?? '').length > (operation.summary ?? '').length, `${name}: a description that says more than the summary`)
    t.ok(Array.isArray(operation.security), `${name}: security is stated, [] when public`)
  }
})

t.test('every request and response body has an example', async t => {
  for (const { name, operation } of operations) {
    for (const [type, media] of Object.entries(operation.requestBody?.content ?? {})) {
      t.ok(hasExample(media), `${name}: request ${type} example`)
    }
    for (const [status, response] of Object.entries(operation.responses)) {
      t.ok(response.description, `${name} ${status}: description`)
      const media = response.content?.['application/json']
      t.ok(media?.schema, `${name} ${status}: a JSON body schema`)
      t.ok(hasExample(media), `${name} ${status}: example`)
      for (const [key, example] of Object.entries(media?.examples ?? {})) t.ok(example.summary, `${name} ${status} example ${key} has a summary`)
    }
  }
})

t.test('every error an operation can answer with is documented with its body and headers', async t => {
  for (const { name, operation } of operations) {
    const statuses = Object.keys(operation.responses)
    if (operation.requestBody !== undefined) {
      for (const status of ['400', '413', '415']) t.ok(statuses.includes(status), `${name} takes a body: documents ${status}`)
    }
    if ((operation.security ?? []).length > 0) {
      t.ok(statuses.includes('401'), `${name} needs a token: documents 401`)
    }
    if (statuses.includes('401')) t.ok(operation.responses['401'].headers?.['www-authenticate'], `${name} 401: WWW-Authenticate`)
    for (const status of ['429', '503']) {
      if (statuses.includes(status)) t.ok(operation.responses[status].headers?.['retry-after'], `${name} ${status}: Retry-After`)
    }
  }
  // Every route that reads the database says it may be away.
  for (const name of ['POST /api/token/', 'POST /api/token/refresh/', 'POST /api/token/verify/', 'POST /api/token/blacklist/', 'POST /api/token/revoke-all/', 'GET /api/hello/', 'GET /health/ready']) {
    const found = operations.find(op => op.name === name)
    t.ok(found?.operation.responses['503'], `${name} documents 503`)
  }
  t.ok(operations.find(op => op.name === 'POST /api/token/')?.operation.responses['429'], 'login throttling: 429')
})

t.test('the examples are the tutorial\'s: Swagger UI\'s "Try it out" logs spiderman in as is', async t => {
  const obtain = doc.paths['/api/token/'].post
  t.same(obtain.requestBody?.content['application/json'].example, { username: 'spiderman', password: 'underoos' })
  t.same(doc.paths['/api/hello/'].get.responses['200'].content?.['application/json'].examples?.greeting.value, { msg: 'Hello Peter Parker' })
})

/** Every `$ref` under a node, at any depth. */
function refsIn (node: unknown, found: string[] = []): string[] {
  if (typeof node !== 'object' || node === null) return found
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && typeof value === 'string') found.push(value)
    else refsIn(value, found)
  }
  return found
}

t.test('shared bodies are named schemas, referenced: one TokenError type for every generator', async t => {
  const names = Object.keys(doc.components.schemas)
  for (const name of ['TokenPair', 'RefreshedTokens', 'Hello', 'TokenError', 'ValidationError', 'FieldErrors', 'Detail', 'Empty', 'SlidingToken', 'JsonWebKeySet', 'JsonWebKey', 'AdminUser', 'UserPage', 'Status']) {
    t.ok(names.includes(name), `components.schemas.${name}`)
  }
  // Every answer's body is a reference to a named schema: no inline copy of any body, the 401's included.
  for (const { name, operation } of operations) {
    for (const [status, response] of Object.entries(operation.responses)) {
      const schema = response.content?.['application/json']?.schema as { $ref?: string } | undefined
      t.match(schema?.$ref, /^#\/components\/schemas\/[A-Z][A-Za-z]+$/, `${name} ${status}: the body is a $ref`)
      if (status === '401') t.equal(schema?.$ref, '#/components/schemas/TokenError', `${name} 401 is TokenError`)
    }
  }
  // Every reference resolves, and every named schema is used.
  const refs = new Set(refsIn(doc))
  for (const ref of refs) t.ok(names.includes(ref.replace('#/components/schemas/', '')), `${ref} resolves`)
  for (const name of names) t.ok(refs.has(`#/components/schemas/${name}`), `${name} is referenced`)
})

t.test('TokenError.code lists every code a 401 carries', async t => {
  t.same(doc.components.schemas.TokenError.properties?.code?.enum, [...TOKEN_ERROR_CODES])
  // The documented examples use only those codes.
  for (const { name, operation } of operations) {
    for (const example of Object.values(operation.responses['401']?.content?.['application/json']?.examples ?? {})) {
      const { code } = example.value as { code?: string }
      if (code !== undefined) t.ok((TOKEN_ERROR_CODES as readonly string[]).includes(code), `${name} 401 example code ${code}`)
    }
  }
})

t.test('request bodies are documented as JSON only (form and multipart are accepted, and said so)', async t => {
  const withBody = operations.filter(({ operation }) => operation.requestBody !== undefined)
  t.ok(withBody.length >= 8)
  for (const { name, operation } of withBody) {
    t.same(Object.keys(operation.requestBody?.content ?? {}), ['application/json'], `${name}: application/json only`)
  }
  t.match(doc.info.description, /application\/x-www-form-urlencoded.*multipart\/form-data/s, 'the description says the other body types are accepted')
})
