// Issue 13 (findings 1, 3, 9): aborted, slow and oversized requests over real sockets, on every
// token route and with each body type DRF parses. Whatever the client does, the process lives,
// and every request ends within a bound with a documented status (docs/operations.md, Bounds).
import t from 'tap'
import { connect } from 'node:net'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import app, { serverOptions } from '../../src/app.js'
import simplejwt from '../../src/plugin.js'
import { createUser, testConfig, testDatabase, TEST_KEY } from '../helper.js'
import { postHead, rawRequest, type RawAnswer } from '../helpers/raw-http.js'

/** Every POST route of the service that reads a body. */
const ROUTES = [
  '/api/token/', '/api/token/refresh/', '/api/token/verify/', '/api/token/blacklist/',
  '/api/token/sliding/', '/api/token/sliding/refresh/', '/api/token/sliding/blacklist/', '/api/token/revoke-all/'
]
/** A route guarded by an access token answers 401 at once, before it reads any body. */
const slowStatus = (url: string) => url === '/api/token/revoke-all/' ? 401 : 408
const BOUNDARY = 'fsjAbuseBoundary'
/** A body of each type DRF parses, with a field that fits every route. */
const BODIES: Array<[string, string]> = [
  ['application/json', JSON.stringify({ username: 'spiderman', password: 'underoos', refresh: 'x', token: 'x' })],
  ['application/x-www-form-urlencoded', 'username=spiderman&password=underoos&refresh=x&token=x'],
  [`multipart/form-data; boundary=${BOUNDARY}`, ['username', 'password', 'refresh', 'token'].map(name =>
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\nx\r\n`).join('') + `--${BOUNDARY}--\r\n`]
]
const SECURITY = { 'x-frame-options': 'DENY', 'x-content-type-options': 'nosniff', 'referrer-policy': 'same-origin' }

// Timeouts of a second, checked every 250 ms: a request is cut between 1 and ~1.3 s.
const BOUND_MS = 3000

/** The log lines the server writes, to tell a client abort from a server fault. */
const logLines: Array<Record<string, unknown>> = []
const logStream = new Writable({
  write (chunk: Buffer, _encoding, callback) {
    for (const line of chunk.toString().split('\n')) if (line !== '') logLines.push(JSON.parse(line))
    callback()
  }
})

const config = testConfig({ REQUEST_TIMEOUT: 1, HEADERS_TIMEOUT: 1, KEEP_ALIVE_TIMEOUT: 1 })
const database = await testDatabase(t)
const options = serverOptions(config)
const server: FastifyInstance = Fastify({ ...options, logger: { ...(options.logger as object), level: 'info', stream: logStream } })
await server.register(fp(app), { config, database })
await server.listen({ host: '127.0.0.1', port: 0 })
t.teardown(() => server.close())
const port = (server.server.address() as { port: number }).port
await createUser(server)

/** The assertions the helpers below use, so any tap Test fits. */
type Asserts = Pick<typeof t, 'equal' | 'ok' | 'match' | 'same'>

/** The service still answers a login, quickly: it lives and is not wedged. */
async function stillServing (t: Asserts) {
  const started = Date.now()
  const res = await fetch(`http://127.0.0.1:${port}/api/token/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":"spiderman","password":"underoos"}' })
  t.equal(res.status, 200, 'a login is still answered')
  t.ok(Date.now() - started < BOUND_MS, 'promptly')
}

function assertJsonAnswer (t: Asserts, res: RawAnswer, status: number, what: string) {
  t.equal(res.status, status, `${what}: ${status}`)
  t.match(res.headers['content-type'], /^application\/json/, `${what}: JSON`)
  t.match(JSON.parse(res.body), { detail: String }, `${what}: DRF's shape`)
  t.match(res.headers, SECURITY, `${what}: security headers`)
  t.ok(res.closed, `${what}: connection closed`)
  t.ok(res.ms < BOUND_MS, `${what}: within ${BOUND_MS} ms (${res.ms} ms)`)
}

t.test('an upload aborted half-way, on every route and body type, never takes the process down', async t => {
  const aborted = ROUTES.flatMap(url => BODIES.map(async ([type, body]) => {
    const res = await rawRequest(port, { head: postHead(url, type, body.length + 1000), body: [body.slice(0, body.length - 5)], abort: true })
    t.ok(res.ms < BOUND_MS, `${url} ${type}: the client's own close`)
  }))
  await Promise.all(aborted)
  // Aborted in the middle of a body streamed in pieces as well.
  for (const [type, body] of BODIES) {
    await rawRequest(port, { head: postHead('/api/token/', type, body.length * 3), body: [body, body], every: 20, abort: true })
  }
  await stillServing(t)
  const messages = logLines.map(line => line.msg)
  t.ok(messages.includes('client aborted the request'), 'logged as a client abort')
  t.notOk(messages.includes('database unavailable'), 'a client abort is no database fault')
  t.notOk(messages.includes('server error'), 'nor a server error')
})

t.test('a slow body (a byte every 300 ms) gets a JSON 408 within the bound, on every route and body type', async t => {
  const slow = ROUTES.flatMap(url => BODIES.map(async ([type, body]) => {
    const res = await rawRequest(port, { head: postHead(url, type, body.length), body: [...body], every: 300, within: BOUND_MS + 2000 })
    assertJsonAnswer(t, res, slowStatus(url), `${url} ${type}`)
    if (slowStatus(url) === 408) t.same(JSON.parse(res.body), { detail: 'Request timeout.' })
  }))
  await Promise.all(slow)
  await stillServing(t)
})

t.test('slow headers get a JSON 408 with the security headers', async t => {
  const res = await rawRequest(port, { head: postHead('/api/token/', 'application/json', 2), headChunk: 3, every: 300, within: BOUND_MS + 2000 })
  assertJsonAnswer(t, res, 408, 'slow headers')
})

t.test('100 slow connections are all closed within the bound', async t => {
  const started = Date.now()
  const [type, body] = BODIES[0]
  const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => rawRequest(port, {
    head: postHead(ROUTES[i % ROUTES.length], type, body.length), body: [...body], every: 300, within: BOUND_MS + 2000
  })))
  t.equal(answers.filter(res => res.closed && res.ms < BOUND_MS).length, 100, 'every connection closed in time')
  t.equal(answers.filter((res, i) => res.status === slowStatus(ROUTES[i % ROUTES.length])).length, 100, 'each with a 408 (401 where a token is needed first)')
  t.ok(Date.now() - started < BOUND_MS + 1000)
  await stillServing(t)
})

t.test('a connection that never sends a byte is closed within the bound', async t => {
  const started = Date.now()
  const sockets = Array.from({ length: 20 }, () => connect(port, '127.0.0.1'))
  const closed = await Promise.all(sockets.map(socket => new Promise<number>(resolve => {
    socket.on('error', () => {})
    socket.resume()
    socket.on('close', () => resolve(Date.now() - started))
    setTimeout(() => { socket.destroy(); resolve(Infinity) }, BOUND_MS + 2000).unref()
  })))
  t.ok(closed.every(ms => ms < BOUND_MS), `all closed (the last after ${Math.max(...closed)} ms)`)
})

t.test('an idle keep-alive connection is closed after KEEP_ALIVE_TIMEOUT', async t => {
  const res = await rawRequest(port, { head: 'GET /health/live HTTP/1.1\r\nhost: localhost', within: BOUND_MS + 2000 })
  t.equal(res.status, 200)
  t.ok(res.closed && res.ms < BOUND_MS, `closed after ${res.ms} ms`)
})

t.test('answers Node writes itself are JSON with the security headers', async t => {
  const overflow = await rawRequest(port, { head: `GET /api/hello/ HTTP/1.1\r\nhost: localhost\r\nx-big: ${'a'.repeat(20 * 1024)}` })
  assertJsonAnswer(t, overflow, 431, 'header overflow')
  const garbage = await rawRequest(port, { head: 'NOT HTTP AT ALL' })
  assertJsonAnswer(t, garbage, 400, 'garbage')
})

t.test('a body over the limit is read to its end (within a bound) before the 413, so the client sees the 413', async t => {
  const big = Buffer.alloc(1024 * 1024, 'x')
  for (const [type] of BODIES) {
    for (let i = 0; i < 3; i++) {
      // Sent in 64 KiB pieces, 10 ms apart, going on after the server's FIN as a browser does: a server
      // that closes before the body ends makes the client's next write fail (EPIPE, ECONNRESET).
      const pieces = Array.from({ length: 16 }, (_, k) => big.subarray(k * 65536, (k + 1) * 65536))
      const res = await rawRequest(port, { head: postHead('/api/token/', type, big.length), body: pieces, every: 10, halfOpen: true, within: BOUND_MS + 5000 })
      t.equal(res.error, undefined, `${type}: no reset`)
      t.ok(res.closed, 'then closed')
      t.equal(res.status, 413, `${type}: 413`)
      t.equal(res.body, '{"detail":"Request body is too large."}')
      t.match(res.headers, SECURITY)
    }
  }
  // And with Node's fetch, which writes the whole body before it reads.
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/api/token/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(2 * 1024 * 1024) })
    t.equal(res.status, 413)
  }
  // A body over the drain bound is cut: the connection ends within the bound all the same.
  const endless = await rawRequest(port, { head: postHead('/api/token/', 'application/json', 100 * 1024 * 1024), body: [big], within: 8000 })
  t.ok(endless.closed, 'closed')
  await stillServing(t)
})

t.test('a complete multipart form under the limit is answered like the same JSON body (over a real socket)', async t => {
  const padding = 'p'.repeat(18 * 1024)
  const body = ['username', 'password', 'padding'].map(name =>
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${name === 'padding' ? padding : name === 'username' ? 'spiderman' : 'underoos'}\r\n`).join('') + `--${BOUNDARY}--\r\n`
  const res = await rawRequest(port, { head: postHead('/api/token/', `multipart/form-data; boundary=${BOUNDARY}`, body.length) + '\r\nconnection: close', body: [body], within: BOUND_MS })
  t.equal(res.status, 200)
  t.same(Object.keys(JSON.parse(res.body)), ['refresh', 'access'])
})

t.test('library mode: an aborted multipart upload does not take the host application down', async t => {
  const host = Fastify()
  await host.register(simplejwt, { JWT_SIGNING_KEY: TEST_KEY, LOGIN_THROTTLE_USERNAME: 'off', LOGIN_THROTTLE_IP: 'off', database })
  host.get('/ping', async () => ({ pong: true }))
  await host.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => host.close())
  const hostPort = (host.server.address() as { port: number }).port
  for (const [type, body] of BODIES) {
    for (const url of ['/api/token/', '/api/token/refresh/']) {
      await rawRequest(hostPort, { head: postHead(url, type, body.length + 500), body: [body], abort: true })
    }
  }
  const res = await fetch(`http://127.0.0.1:${hostPort}/ping`)
  t.same(await res.json(), { pong: true }, 'the host still answers')
})

t.test('nothing above was logged as a warning or a server fault', async t => {
  t.same(logLines.filter(line => Number(line.level) >= 40).map(line => line.msg), [])
})
