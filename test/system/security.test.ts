// What an attacker meets: no credentials in logs, JSON for oversized input, no user enumeration by timing.
import t from 'tap'
import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import app, { serverOptions } from '../../src/app.js'
import { bearer, createUser, obtainPair, testConfig, testDatabase } from '../helper.js'

const lines: string[] = []
const database = await testDatabase(t)
const config = testConfig({ LOG_LEVEL: 'info' })
const server = Fastify({ ...serverOptions(config), logger: { ...(serverOptions(config).logger as object), level: 'info', stream: { write: (line: string) => { lines.push(line) } } } })
await server.register(fp(app), { config, database })
await server.ready()
t.teardown(() => server.close())
await createUser(server)
await createUser(server, { username: 'ghost', password: 'boo-boo-1234', isActive: false })

t.test('logs: request ids, and never a password, a token or an Authorization header', async t => {
  const pair = await obtainPair(server)
  await server.inject({ method: 'POST', url: '/api/token/', payload: { username: 'spiderman', password: 'wrong-secret-pw' } })
  await server.inject({ method: 'GET', url: '/api/hello/', headers: bearer(pair.access) })
  await server.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh: pair.refresh } })
  await server.inject({ method: 'POST', url: '/api/token/verify/', payload: { token: pair.access } })
  // A fault that logs the request, with its headers, as an error handler might.
  server.log.info({ req: { headers: { authorization: `Bearer ${pair.access}` }, body: { password: 'underoos', refresh: pair.refresh } } }, 'probe')

  const text = lines.join('\n')
  t.ok(lines.length > 5)
  for (const secret of ['underoos', 'wrong-secret-pw', pair.access, pair.refresh, pair.access.split('.')[2], pair.refresh.split('.')[2]]) {
    t.notOk(text.includes(secret), `${secret.slice(0, 12)}… is not logged`)
  }
  const requests = lines.map(line => JSON.parse(line)).filter(entry => entry.msg === 'incoming request')
  t.ok(requests.every(entry => typeof entry.reqId === 'string' && entry.reqId.length > 0), 'every request line has a request id')
})

t.test('Django\'s security headers on every answer', async t => {
  for (const res of [
    await server.inject({ method: 'GET', url: '/api/hello/' }),
    await server.inject({ method: 'GET', url: '/nope' }),
    await server.inject({ method: 'GET', url: '/health/live' })
  ]) {
    t.equal(res.headers['x-frame-options'], 'DENY')
    t.equal(res.headers['x-content-type-options'], 'nosniff')
    t.equal(res.headers['referrer-policy'], 'same-origin')
  }
})

t.test('oversized headers get a JSON 431 over real HTTP, fast', async t => {
  await server.listen({ host: '127.0.0.1', port: 0 })
  const { port } = server.server.address() as AddressInfo
  const answer = await new Promise<{ status: number, type: string, body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/api/hello/', headers: { authorization: `Bearer ${'a'.repeat(102_400)}` } }, res => {
      let body = ''
      res.on('data', chunk => { body += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }))
    })
    req.on('error', reject)
    req.end()
  })
  t.equal(answer.status, 431)
  t.match(answer.type, /^application\/json/)
  t.same(JSON.parse(answer.body), { detail: 'Request header fields too large.' })
})

t.test('a password over the cap is refused before any hashing', async t => {
  const time = async (password: string) => {
    const started = process.hrtime.bigint()
    const res = await server.inject({ method: 'POST', url: '/api/token/', payload: { username: 'spiderman', password } })
    return { res, ms: Number(process.hrtime.bigint() - started) / 1e6 }
  }
  const hashed = await time('x'.repeat(4096))
  const refused = await time('x'.repeat(4097))
  t.equal(hashed.res.statusCode, 401)
  t.equal(refused.res.statusCode, 400)
  t.same(refused.res.json(), { password: ['Ensure this field has no more than 4096 characters.'] })
  // Compared with a login that hashes, in the same run: a fraction of its cost.
  t.ok(refused.ms < hashed.ms / 3, `refused in ${refused.ms.toFixed(1)} ms, a hashed login took ${hashed.ms.toFixed(1)} ms`)
})

t.test('no user enumeration by timing: unknown, inactive and wrong-password logins cost the same', async t => {
  const cases = {
    unknown: { username: 'nobody-at-all', password: 'whatever-1' },
    inactive: { username: 'ghost', password: 'boo-boo-1234' },
    wrong: { username: 'spiderman', password: 'not-underoos' }
  }
  const timings: Record<string, number[]> = { unknown: [], inactive: [], wrong: [] }
  // Warm up (the dummy hash is made on first use), then interleave the cases to share any noise.
  for (const payload of Object.values(cases)) await server.inject({ method: 'POST', url: '/api/token/', payload })
  for (let round = 0; round < 12; round++) {
    for (const [name, payload] of Object.entries(cases)) {
      const started = process.hrtime.bigint()
      const res = await server.inject({ method: 'POST', url: '/api/token/', payload })
      timings[name].push(Number(process.hrtime.bigint() - started) / 1e6)
      t.equal(res.statusCode, 401)
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const medians = Object.fromEntries(Object.entries(timings).map(([name, xs]) => [name, median(xs)]))
  const values = Object.values(medians)
  const spread = Math.max(...values) / Math.min(...values)
  t.ok(Math.min(...values) > 5, `each case runs a real hash (${JSON.stringify(medians)})`)
  // Without the dummy hash, an unknown user answers in well under a millisecond: a ratio of 20 or
  // more. The bound leaves room for a busy machine (CI runs two test files at once).
  t.ok(spread < 2, `medians within 2x of each other: ${JSON.stringify(medians)}`)
})
