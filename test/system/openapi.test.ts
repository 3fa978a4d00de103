// The OpenAPI document's quality, for the people reading it in Swagger UI and the generators reading
// /docs/json: what Redocly's recommended rules check in CI (`npm run openapi:lint`), and what they leave out.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { build } from '../helper.js'

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
