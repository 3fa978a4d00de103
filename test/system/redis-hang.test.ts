// Issue 13, finding 4: a Redis that accepts connections but never answers (blackholed through the
// TCP proxy), one that resets them, and one that refuses them. Logins and refreshes answer within
// REDIS_TIMEOUT and a hash, throttling goes on in this process, one warning is logged per outage,
// and the counters are shared through Redis again once it answers. The machine's Redis is never touched.
import t, { type Test } from 'tap'
import { randomUUID } from 'node:crypto'
import { connect } from 'node:net'
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import fp from 'fastify-plugin'
import appPlugin, { serverOptions } from '../../src/app.js'
import { build, createUser, testConfig, testDatabase } from '../helper.js'
import { startTcpProxy } from '../helpers/tcp-proxy.js'

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const { hostname, port } = new URL(REDIS_URL)
const redisUp = await new Promise<boolean>(resolve => {
  const socket = connect(Number(port || 6379), hostname, () => { socket.end(); resolve(true) })
  socket.on('error', () => resolve(false))
})
if (!redisUp && process.env.CI !== 'true') {
  t.plan(0, `no Redis at ${REDIS_URL}`)
  process.exit(0)
}

const REDIS_TIMEOUT_MS = 1000
// A request's bound: one Redis timeout, a password hash and a loaded machine's slack.
const BOUND_MS = REDIS_TIMEOUT_MS + 3000
const limits = {
  LOGIN_THROTTLE_USERNAME: { failures: 3, seconds: 60 },
  LOGIN_THROTTLE_IP: null,
  REFRESH_THROTTLE: { failures: 3, seconds: 60 },
  REDIS_TIMEOUT: REDIS_TIMEOUT_MS / 1000
}

const proxy = await startTcpProxy({ host: hostname, port: Number(port || 6379) })
t.teardown(() => proxy.close())
const database = await testDatabase(t)

/** The app behind the proxy, its log lines kept (at info: the warning and the recovery). */
async function behindProxy (t: Test): Promise<{ server: FastifyInstance, lines: string[] }> {
  const lines: string[] = []
  const config = testConfig({ ...limits, REDIS_URL: proxy.url(REDIS_URL), LOG_LEVEL: 'info' })
  const server = Fastify({ ...serverOptions(config), logger: { level: 'info', stream: { write: (line: string) => { lines.push(line) } } } })
  await server.register(fp(appPlugin), { config, database })
  await server.ready()
  t.teardown(() => server.close())
  return { server, lines }
}

/** The request's answer and how long it took; fails the test rather than hang past BOUND_MS. */
async function timed (t: Test, request: Promise<LightMyRequestResponse>, what: string): Promise<LightMyRequestResponse> {
  const started = Date.now()
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<undefined>(resolve => { timer = setTimeout(() => resolve(undefined), BOUND_MS) })
  const res = await Promise.race([request, late])
  clearTimeout(timer)
  if (res === undefined) throw new Error(`${what}: no answer within ${BOUND_MS} ms`)
  t.ok(Date.now() - started < BOUND_MS, `${what}: answered ${res.statusCode} in ${Date.now() - started} ms`)
  return res
}

const login = (server: FastifyInstance, username: string, password: string) =>
  server.inject({ method: 'POST', url: '/api/token/', payload: { username, password } })
const refresh = (server: FastifyInstance, token: string) =>
  server.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh: token } })
const warnings = (lines: string[]) => lines.filter(line => line.includes('Redis is unreachable')).length
/** No outage was logged, or the last one has been followed by the recovery. */
const redisBack = (lines: string[]) =>
  lines.findLastIndex(line => line.includes('Redis is reachable again')) >= lines.findLastIndex(line => line.includes('Redis is unreachable'))

async function until (condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (!condition() && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
  return condition()
}

/** Three failed logins on `server`; then the right password on `other` is 429 only if they shared the count. */
async function sharedCount (t: Test, server: FastifyInstance, other: FastifyInstance): Promise<boolean> {
  const username = `shared-${randomUUID()}`
  await createUser(server, { username })
  for (let i = 0; i < 3; i++) t.equal((await timed(t, login(server, username, 'wrong'), 'failed login')).statusCode, 401)
  return (await login(other, username, 'underoos')).statusCode === 429
}

t.test('a blackholed Redis: logins and refreshes answer within REDIS_TIMEOUT, counted in this process; healed, Redis is shared again', async t => {
  const { server, lines } = await behindProxy(t)
  const direct = await build(t, { ...limits, REDIS_URL }, { database })
  t.ok(await sharedCount(t, server, direct), 'through the proxy, the counters are in Redis')

  proxy.blackhole()
  const username = `hung-${randomUUID()}`
  await createUser(server, { username })
  for (let i = 1; i <= 3; i++) t.equal((await timed(t, login(server, username, `wrong-${i}`), `failed login ${i}`)).statusCode, 401)
  const blocked = await timed(t, login(server, username, 'underoos'), 'the 4th login')
  t.equal(blocked.statusCode, 429, 'throttling holds in this process')
  t.ok(Number(blocked.headers['retry-after']) >= 1)

  const other = `other-${randomUUID()}`
  await createUser(server, { username: other })
  const good = await timed(t, login(server, other, 'underoos'), 'another user\'s login')
  t.equal(good.statusCode, 200)
  const token = good.json().refresh as string
  for (let i = 1; i <= 3; i++) t.equal((await timed(t, refresh(server, token), `refresh ${i}`)).statusCode, 200)
  t.equal((await timed(t, refresh(server, token), 'refresh 4')).statusCode, 429, 'REFRESH_THROTTLE holds in this process')
  t.equal(warnings(lines), 1, 'one warning for the outage, not one per request')

  await proxy.heal()
  t.ok(await until(() => redisBack(lines), 10_000), 'Redis is used again once it answers')
  t.ok(await sharedCount(t, server, direct), 'the counters are shared again')
  t.notOk(lines.some(line => line.includes('underoos')), 'passwords are never logged')
  t.equal((await server.inject({ method: 'GET', url: '/health/live' })).statusCode, 200, 'the process lives')
})

t.test('connections to Redis reset under logins: every login answers within the bound, and Redis is used again', async t => {
  const { server, lines } = await behindProxy(t)
  const direct = await build(t, { ...limits, REDIS_URL }, { database })
  const username = `reset-${randomUUID()}`
  await createUser(server, { username })
  for (let round = 0; round < 5; round++) {
    const logins = [login(server, username, 'underoos'), login(server, `nobody-${round}`, 'x')]
    proxy.cut()
    const [good, bad] = await Promise.all(logins.map((request, i) => timed(t, request, `login ${i} as the connection resets`)))
    t.equal(good.statusCode, 200)
    t.equal(bad.statusCode, 401)
  }
  t.ok(await until(() => redisBack(lines), 10_000), 'Redis is used again')
  // A cut connection reconnects (after 200 ms) without necessarily logging an outage, and a command
  // in flight on it may be counted here or twice; a login in that moment takes its point before its
  // hash. So wait (a few unasserted tries) until counting is steady again, then check it is shared.
  const settled = async () => {
    const username = `settling-${randomUUID()}`
    await createUser(server, { username })
    for (let i = 0; i < 3; i++) if ((await login(server, username, 'wrong')).statusCode !== 401) return false
    return (await login(direct, username, 'underoos')).statusCode === 429
  }
  for (let attempt = 0; attempt < 20 && !await settled(); attempt++) await new Promise(resolve => setTimeout(resolve, 100))
  t.ok(await sharedCount(t, server, direct), 'the counters are shared again')
})

t.test('a refused Redis: logins answer at once, counted in this process; back, Redis is shared again', async t => {
  const { server, lines } = await behindProxy(t)
  const direct = await build(t, { ...limits, REDIS_URL }, { database })
  await proxy.refuse()
  const username = `refused-${randomUUID()}`
  await createUser(server, { username })
  for (let i = 1; i <= 3; i++) t.equal((await timed(t, login(server, username, 'wrong'), `failed login ${i}`)).statusCode, 401)
  t.equal((await timed(t, login(server, username, 'underoos'), 'the 4th login')).statusCode, 429, 'counted in this process')
  t.equal(warnings(lines), 1, 'one warning')
  await proxy.heal()
  t.ok(await until(() => redisBack(lines), 10_000), 'Redis is used again')
  t.ok(await sharedCount(t, server, direct), 'the counters are shared again')
})
