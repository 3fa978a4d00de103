// Property-based fuzzing of every route: whatever arrives, never a 5xx, always JSON in a documented shape.
import t from 'tap'
import fc from 'fast-check'
import { build, createUser, obtainPair } from '../helper.js'

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

// Issue 13, finding 2: whitespace- and repetition-heavy values, up to the body limit, in every field
// of every route and in the Authorization header. test/system/regex-dos.test.ts times fixed shapes;
// this draws them at random. A generous per-request budget: a backtracking regex took seconds (no
// shrinking on failure: every smaller case would be slow too).
const REQUEST_BUDGET_MS = 1000
const UNITS = [' ', '\t', '\n', '\r\n', '\u000b', '\u001c', '\u0085', '\u00a0', '\u1680', '\u2009', '\u2028', '\u3000', '\ufeff', '\u200b', '\u0000', 'a', '=', '.', '-', 'a.', ' a', 'a ', '\\', '"', '%', '_', ',']
/** A unit's largest size once encoded, as JSON or as a form: what it costs of the body limit. */
const encodedBytes = (unit: string) => Math.max(Buffer.byteLength(JSON.stringify(unit)) - 2, new URLSearchParams({ u: unit }).toString().length - 2)
/** Runs of repeated units between short strings, often as long as ~60 KB of body allows. */
const edge = fc.oneof(fc.constantFrom('a', 'b', 'x.', '='), fc.string({ maxLength: 3 }))
const heavyString = fc.tuple(
  edge,
  fc.oneof(
    fc.constantFrom(...UNITS).map(unit => [[unit, 100]] as Array<[string, number]>),
    fc.array(fc.tuple(fc.constantFrom(...UNITS), fc.oneof(fc.constant(100), fc.integer({ min: 1, max: 100 }))), { minLength: 1, maxLength: 3 })
  ),
  edge
).map(([prefix, runs, suffix]) => prefix + runs.map(([unit, percent]) => unit.repeat(Math.max(1, Math.floor(percent / 100 * 60000 / encodedBytes(unit) / runs.length)))).join('') + suffix)
/** fast-check's report, with the 60 KB counterexample cut short. */
function shortReport<Ts> (details: fc.RunDetails<Ts>): void {
  if (!details.failed) return
  const example = JSON.stringify(details.counterexample, (_key, value: unknown) => typeof value === 'string' && value.length > 80 ? `${value.slice(0, 40)}…(${value.length} characters)…${value.slice(-20)}` : value)
  throw new Error(`${String(details.errorInstance)} (seed ${details.seed}, path ${details.counterexamplePath}): ${example}`)
}
const smallValue = fc.constantFrom('spiderman', 'underoos', ' a ', '', pair.refresh, pair.access)

await createUser(app, { username: 'fuzzstaff', isStaff: true })
const staffAuth = `Bearer ${(await obtainPair(app, 'fuzzstaff')).access}`
const spiderman = await app.simplejwt.users.findByUsername('spiderman')
const FIELD_ROUTES: Array<{ method: 'POST' | 'PATCH', url: string, fields: string[], staff?: boolean }> = [
  { method: 'POST', url: '/api/token/', fields: ['username', 'password'] },
  { method: 'POST', url: '/api/token/refresh/', fields: ['refresh'] },
  { method: 'POST', url: '/api/token/verify/', fields: ['token'] },
  { method: 'POST', url: '/api/token/blacklist/', fields: ['refresh'] },
  { method: 'POST', url: '/api/token/sliding/', fields: ['username', 'password'] },
  { method: 'POST', url: '/api/token/sliding/refresh/', fields: ['token'] },
  { method: 'POST', url: '/api/token/sliding/blacklist/', fields: ['token'] },
  { method: 'POST', url: '/api/admin/users/', fields: ['username', 'password', 'first_name', 'last_name', 'email'], staff: true },
  { method: 'PATCH', url: `/api/admin/users/${spiderman?.id}/`, fields: ['first_name', 'last_name', 'email'], staff: true }
]

t.test('whitespace- and repetition-heavy values in every field: a documented answer, never a 5xx, within the budget', async t => {
  let slowest = 0
  await fc.assert(fc.asyncProperty(
    fc.constantFrom(...FIELD_ROUTES), fc.nat(), fc.boolean(), heavyString, fc.option(smallValue),
    async (route, pick, form, heavy, other) => {
      // One field heavy, at most one other small: the body stays within the limit.
      const field = route.fields[pick % route.fields.length]
      const body: Record<string, string> = { [field]: heavy }
      if (other !== null && route.fields.length > 1) body[route.fields[(pick + 1) % route.fields.length]] = other
      const headers: Record<string, string> = { 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json' }
      if (route.staff === true) headers.authorization = staffAuth
      const payload = form ? new URLSearchParams(body).toString() : JSON.stringify(body)
      const start = performance.now()
      const res = await app.inject({ method: route.method, url: route.url, headers, payload })
      const ms = performance.now() - start
      slowest = Math.max(slowest, ms)
      if (res.statusCode >= 500) throw new Error(`${res.statusCode} for ${route.method} ${route.url}: ${res.body}`)
      if (Buffer.byteLength(payload) <= (app.initialConfig.bodyLimit as number) && ms > REQUEST_BUDGET_MS) throw new Error(`${route.method} ${route.url} took ${ms.toFixed(0)} ms`)
      if (!/^application\/json/.test(String(res.headers['content-type']))) throw new Error(`not JSON: ${res.headers['content-type']}`)
      if (!documentedShape(res.statusCode, res.json())) throw new Error(`undocumented shape ${res.statusCode}: ${res.body}`)
    }
  ), { seed: SEED + 3, numRuns: Math.ceil(RUNS / 5), endOnFailure: true, reporter: shortReport })
  t.pass(`${Math.ceil(RUNS / 5)} bodies, slowest ${slowest.toFixed(0)} ms`)
})

t.test('whitespace- and repetition-heavy Authorization headers: 401 or 200, within the budget', async t => {
  await fc.assert(fc.asyncProperty(fc.constantFrom('', 'Bearer ', 'Bearer', 'JWT '), fc.oneof(heavyString, smallValue), fc.constantFrom('/api/hello/', '/api/admin/users/', '/api/token/revoke-all/'), async (scheme, value, url) => {
    const start = performance.now()
    const res = await app.inject({ method: url.endsWith('revoke-all/') ? 'POST' : 'GET', url, headers: { authorization: scheme + value } })
    const ms = performance.now() - start
    if (res.statusCode !== 401 && res.statusCode !== 200 && res.statusCode !== 403) throw new Error(`${res.statusCode}: ${res.body}`)
    if (ms > REQUEST_BUDGET_MS) throw new Error(`${url} took ${ms.toFixed(0)} ms`)
  }), { seed: SEED + 4, numRuns: Math.ceil(RUNS / 5), endOnFailure: true, reporter: shortReport })
  t.pass(`${Math.ceil(RUNS / 5)} headers`)
})
