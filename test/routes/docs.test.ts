// GET /docs/json (OpenAPI from the routes' schemas) and GET /docs/ (Swagger UI, served by the app itself)
import t from 'tap'
import { build } from '../helper.js'

const app = await build(t)

interface Operation {
  operationId?: string
  summary?: string
  tags?: string[]
  security?: Array<Record<string, string[]>>
  requestBody?: { required?: boolean, content: Record<string, { schema: { required?: string[], properties?: Record<string, unknown> } }> }
  responses: Record<string, { description?: string, content?: Record<string, unknown> }>
}
type OpenApi = {
  openapi: string
  info: { title: string, version: string }
  paths: Record<string, Record<string, Operation>>
  security?: unknown
  components: { securitySchemes: Record<string, unknown> }
}

const res = await app.inject({ method: 'GET', url: '/docs/json' })
const doc = res.json() as OpenApi
/** The document's paths by their slash-less spelling (spec D12: both spellings are the same route). */
const paths = new Map(Object.entries(doc.paths).map(([path, item]) => [path.replace(/\/$/, ''), item]))
// JSON only, so that every generator's default client sends it; form and multipart are accepted too (test/routes/http.test.ts).
const BODY_TYPES = ['application/json']

const TOKEN_OPERATIONS: Array<[string, string, string[]]> = [
  ['/api/token', 'obtainTokenPair', ['username', 'password']],
  ['/api/token/refresh', 'refreshToken', ['refresh']],
  ['/api/token/verify', 'verifyToken', ['token']]
]

t.test('GET /docs/json: an OpenAPI 3.0.3 document', async t => {
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json(; charset=utf-8)?$/)
  t.equal(doc.openapi, '3.0.3')
  t.equal(doc.info.title, 'fastify-simplejwt')
  t.type(doc.info.version, 'string')
  t.equal(doc.security, undefined, 'no global security requirement: the token routes are public')
})

t.test('GET /docs/json: every /api route is documented, and nothing else', async t => {
  const api = [...paths.keys()].filter(p => p.startsWith('/api/'))
  for (const path of ['/api/token', '/api/token/refresh', '/api/token/verify', '/api/hello']) {
    t.ok(api.includes(path), `${path} is documented`)
  }
  t.notOk([...paths.keys()].some(p => p.startsWith('/docs')), 'the docs routes themselves are hidden')
  for (const [path, item] of paths) {
    for (const [method, operation] of Object.entries(item)) {
      t.type(operation.operationId, 'string', `${method} ${path} operationId`)
      t.type(operation.summary, 'string', `${method} ${path} summary`)
      t.ok(Array.isArray(operation.tags) && operation.tags.length > 0, `${method} ${path} tags`)
    }
  }
  const ids = [...paths.values()].flatMap(item => Object.values(item).map(op => op.operationId))
  t.equal(new Set(ids).size, ids.length, 'operationIds are unique')
})

t.test('GET /docs/json: paths are spelled as the contract spells them, with the trailing slash', async t => {
  for (const path of ['/api/token/', '/api/token/refresh/', '/api/token/verify/', '/api/hello/']) {
    t.ok(Object.hasOwn(doc.paths, path), path)
  }
  t.same(Object.keys(doc.paths).filter(p => p.startsWith('/api/') && !p.endsWith('/')), [], 'no slash-less duplicates')
})

t.test('GET /docs/json: the token routes document a JSON body and every answer', async t => {
  for (const [path, operationId, fields] of TOKEN_OPERATIONS) {
    const operation = paths.get(path)?.post
    if (operation === undefined) {
      t.fail(`POST ${path} missing`)
      continue
    }
    t.equal(operation.operationId, operationId)
    t.same(operation.tags, ['token'])
    // `security: []` says so explicitly (Redocly's security-defined rule): no credentials, no lock in Swagger UI.
    t.same(operation.security, [], `POST ${path} needs no credentials`)
    t.equal(operation.requestBody?.required, true)
    t.same(Object.keys(operation.requestBody?.content ?? {}).sort(), [...BODY_TYPES].sort(), `POST ${path} body types`)
    for (const type of BODY_TYPES) {
      const schema = operation.requestBody?.content[type]?.schema
      t.same(schema?.required, fields, `${path} ${type} required fields`)
      t.same(Object.keys(schema?.properties ?? {}), fields)
    }
    for (const status of ['200', '400', '401', '413', '415']) {
      const response = operation.responses[status]
      t.ok(response, `POST ${path} documents ${status}`)
      t.type(response?.description, 'string')
      t.ok(response?.content?.['application/json'], `POST ${path} ${status} is JSON`)
    }
  }
})

t.test('GET /docs/json: the bearerAuth scheme, required by /api/hello/ and not by the token routes', async t => {
  t.same(doc.components.securitySchemes.bearerAuth, {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'An access token from POST /api/token/.'
  })
  const hello = paths.get('/api/hello')?.get
  t.equal(hello?.operationId, 'hello')
  t.same(hello?.tags, ['hello'])
  t.same(hello?.security, [{ bearerAuth: [] }])
  t.ok(hello?.responses['200'])
  t.ok(hello?.responses['401'])
  t.equal(hello?.requestBody, undefined)
  // Only routes guarded by an access token declare it, and always as bearerAuth; simplejwt's views are public.
  const secured = [...paths].flatMap(([path, item]) => Object.entries(item).filter(([, op]) => (op.security?.length ?? 0) > 0).map(([method, op]) => [`${method} ${path}`, op] as const))
  t.ok(secured.some(([name]) => name === 'get /api/hello'))
  for (const [name, op] of secured) {
    t.notOk(TOKEN_OPERATIONS.some(([path]) => name === `post ${path}`), `${name} is not a public token route`)
    t.same(op.security, [{ bearerAuth: [] }], name)
  }
})

t.test('GET /docs/json: answers the same without and with a trailing slash', async t => {
  const slashed = await app.inject({ method: 'GET', url: '/docs/json/' })
  t.equal(slashed.statusCode, 200)
  t.equal(slashed.body, res.body)
})

t.test('GET /docs/: Swagger UI loads every asset from the app itself', async t => {
  for (const url of ['/docs/', '/docs']) {
    const page = await app.inject({ method: 'GET', url })
    t.equal(page.statusCode, 200, url)
    t.match(page.headers['content-type'], /^text\/html/)
    t.match(page.body, /swagger-ui/i)
    t.notMatch(page.body, /https?:\/\//, `${url}: no absolute URL, so no CDN`)
    t.equal(page.headers['x-frame-options'], 'DENY')
    t.equal(page.headers['x-content-type-options'], 'nosniff')

    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map(m => m[1])
    t.ok(assets.some(a => a.endsWith('.js')), `${url} loads scripts`)
    t.ok(assets.some(a => a.endsWith('.css')), `${url} loads styles`)
    for (const asset of assets) {
      // Resolved as a browser would, against the page's own URL.
      const resolved = new URL(asset, `http://app.test${url}`)
      t.equal(resolved.host, 'app.test', `${asset} is same-origin`)
      const got = await app.inject({ method: 'GET', url: resolved.pathname })
      t.equal(got.statusCode, 200, `${url} → ${resolved.pathname}`)
    }
  }
})

t.test('GET /docs/static/swagger-ui-bundle.js: a static asset is served with its type', async t => {
  const asset = await app.inject({ method: 'GET', url: '/docs/static/swagger-ui-bundle.js' })
  t.equal(asset.statusCode, 200)
  t.match(asset.headers['content-type'], /javascript/)
  t.ok(asset.body.length > 1000)
  const css = await app.inject({ method: 'GET', url: '/docs/static/swagger-ui.css' })
  t.equal(css.statusCode, 200)
  t.match(css.headers['content-type'], /^text\/css/)
  const initializer = await app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' })
  t.equal(initializer.statusCode, 200)
  t.match(initializer.body, /resolveUrl\('\.\/json'\)/, 'the UI reads the document from this app')
  const missing = await app.inject({ method: 'GET', url: '/docs/static/nope.js' })
  t.equal(missing.statusCode, 404)
})
