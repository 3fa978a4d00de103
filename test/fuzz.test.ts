// Property-based fuzzing of every route: whatever arrives, never a 5xx, always JSON in a documented shape.
import t from 'tap'
import fc from 'fast-check'
import { build, createUser, obtainPair } from './helper.js'

// Seeded, so a failure names a reproducible case; FUZZ_SEED and FUZZ_RUNS override.
const SEED = Number(process.env.FUZZ_SEED ?? 20261129)
const RUNS = Number(process.env.FUZZ_RUNS ?? 1500)
const app = await build(t)
await createUser(app)
const pair = await obtainPair(app)

const ROUTES = ['/api/token/', '/api/token/refresh/', '/api/token/verify/', '/api/token/blacklist/', '/api/token/revoke-all/', '/api/hello/', '/api/token', '/api/hello', '/.well-known/jwks.json', '/health/live', '/api/nope/']
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'] as const
const TYPES = ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=xyz', 'multipart/form-data', 'text/plain', 'application/xml', '', 'application/json; charset=latin1']
const FIELDS = ['username', 'password', 'refresh', 'token', 'access', '__proto__', 'constructor']

const jsonValue = fc.jsonValue({ maxDepth: 4 })
const tokenish = fc.oneof(
  fc.constantFrom(pair.access, pair.refresh, `${pair.access}x`, pair.access.split('.').slice(0, 2).join('.'), `${pair.access}.`, pair.access.replace(/.$/, '=')),
  fc.string({ maxLength: 400 }),
  fc.tuple(fc.base64String({ maxLength: 120 }), fc.base64String({ maxLength: 400 }), fc.base64String({ maxLength: 90 })).map(parts => parts.join('.'))
)
const objectBody = fc.dictionary(fc.constantFrom(...FIELDS), fc.oneof(jsonValue, tokenish), { maxKeys: 4 })
const rawBody = fc.oneof(
  objectBody.map(body => JSON.stringify(body)),
  jsonValue.map(value => JSON.stringify(value)),
  fc.string({ maxLength: 300 }),
  fc.uint8Array({ maxLength: 300 }).map(bytes => Buffer.from(bytes).toString('latin1')),
  objectBody.map(body => new URLSearchParams(Object.entries(body).map(([k, v]) => [k, String(v)] as [string, string])).toString()),
  fc.constant('--xyz\r\nContent-Disposition: form-data; name="username"\r\n\r\nspiderman\r\n--xyz--\r\n'),
  fc.nat(60).map(n => '['.repeat(n) + ']'.repeat(n))
)
const authorization = fc.oneof(
  fc.constant(undefined),
  tokenish.map(token => `Bearer ${token}`),
  fc.tuple(fc.constantFrom('Bearer', 'bearer', 'JWT', 'Basic', ''), fc.constantFrom(' ', '  ', '\t'), tokenish).map(([scheme, space, token]) => `${scheme}${space}${token}`),
  fc.string({ maxLength: 200 }).filter(value => /^[\t\x20-\x7e]*$/.test(value))
)

/** Every body we ever send: a non-empty `detail` string, field errors, or one of the success shapes. */
function documentedShape (status: number, body: unknown): boolean {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return false
  const record = body as Record<string, unknown>
  if (status >= 400) {
    if (typeof record.detail === 'string') return true
    return status === 400 && Object.values(record).length > 0 && Object.values(record).every(v => Array.isArray(v) && v.every(m => typeof m === 'string'))
  }
  return true
}

t.test('every route, any method, content type, body and Authorization header: never a 5xx, always JSON', async t => {
  let cases = 0
  await fc.assert(fc.asyncProperty(
    fc.constantFrom(...ROUTES), fc.constantFrom(...METHODS), fc.constantFrom(...TYPES), rawBody, authorization,
    async (url, method, type, payload, auth) => {
      cases++
      const headers: Record<string, string> = {}
      if (type !== '') headers['content-type'] = type
      if (auth !== undefined) headers.authorization = auth
      const hasBody = method !== 'GET' && method !== 'HEAD'
      const res = await app.inject({ method, url, headers, ...(hasBody ? { payload } : {}) })
      if (res.statusCode >= 500) throw new Error(`${res.statusCode} for ${method} ${url}: ${res.body}`)
      if (method === 'HEAD') return
      if (!/^application\/json/.test(String(res.headers['content-type']))) throw new Error(`not JSON: ${res.headers['content-type']}`)
      if (!documentedShape(res.statusCode, res.json())) throw new Error(`undocumented shape ${res.statusCode}: ${res.body}`)
    }
  ), { seed: SEED, numRuns: RUNS })
  t.equal(cases, RUNS, `${RUNS} cases, seed ${SEED}`)
})

t.test('token routes with well-formed JSON objects of every kind of field value', async t => {
  const routes = ['/api/token/refresh/', '/api/token/verify/', '/api/token/blacklist/']
  await fc.assert(fc.asyncProperty(fc.constantFrom(...routes), objectBody, async (url, body) => {
    const res = await app.inject({ method: 'POST', url, payload: body })
    if (![200, 400, 401].includes(res.statusCode)) throw new Error(`${res.statusCode} for ${url}: ${res.body}`)
    if (!documentedShape(res.statusCode, res.json())) throw new Error(`undocumented shape: ${res.body}`)
  }), { seed: SEED + 1, numRuns: RUNS * 2 })
  t.pass(`${RUNS * 2} bodies`)
})

t.test('hello with any bearer token', async t => {
  await fc.assert(fc.asyncProperty(tokenish, async (token) => {
    const res = await app.inject({ method: 'GET', url: '/api/hello/', headers: { authorization: `Bearer ${token}` } })
    if (res.statusCode !== 200 && res.statusCode !== 401) throw new Error(`${res.statusCode}: ${res.body}`)
    if (res.statusCode === 401 && res.headers['www-authenticate'] !== 'Bearer realm="api"') throw new Error('401 without the challenge')
  }), { seed: SEED + 2, numRuns: RUNS * 2 })
  t.pass(`${RUNS * 2} tokens`)
})
