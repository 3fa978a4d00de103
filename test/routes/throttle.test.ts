// Spec D10: brute-force throttling of POST /api/token/, in-process and shared through Redis; and
// REFRESH_THROTTLE on the refresh views.
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { connect } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { build, Clock, createUser, testDatabase } from '../helper.js'

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
// Redis is optional for `npm test` on a workstation; CI (.ci/run) always provides it.
const redisUp = await new Promise<boolean>(resolve => {
  const { hostname, port } = new URL(REDIS_URL)
  const socket = connect(Number(port || 6379), hostname, () => { socket.end(); resolve(true) })
  socket.on('error', () => resolve(false))
})
const needsRedis = redisUp || process.env.CI === 'true' ? {} : { skip: `no Redis at ${REDIS_URL}` }
const database = await testDatabase(t)
const limits = { LOGIN_THROTTLE_USERNAME: { failures: 10, seconds: 60 }, LOGIN_THROTTLE_IP: null }
const app = await build(t, limits, { database })
await createUser(app)
await createUser(app, { username: 'mj', password: 'tiger-lily' })

const login = (server: FastifyInstance, username: string, password: string, ip = '127.0.0.1') =>
  server.inject({ method: 'POST', url: '/api/token/', payload: { username, password }, remoteAddress: ip })
const THROTTLED = /^Request was throttled\. Expected available in (\d+) seconds?\.$/

t.test('POST /api/token/: the 11th failed attempt within a minute is 429 with Retry-After', async t => {
  for (let i = 1; i <= 10; i++) {
    const res = await login(app, 'spiderman', `wrong-${i}`)
    t.equal(res.statusCode, 401, `attempt ${i}`)
  }
  const blocked = await login(app, 'spiderman', 'wrong-11')
  t.equal(blocked.statusCode, 429)
  const seconds = Number(blocked.headers['retry-after'])
  t.ok(seconds >= 1 && seconds <= 60, `Retry-After ${seconds}`)
  t.match(blocked.json(), { detail: THROTTLED })
  t.equal(Number(THROTTLED.exec(blocked.json().detail)?.[1]), seconds, 'the body and the header agree')
  t.same(Object.keys(blocked.json()), ['detail'], 'DRF\'s throttle body')

  // Even the right password waits: the throttle is checked before any hashing.
  t.equal((await login(app, 'spiderman', 'underoos')).statusCode, 429)
  // Other users are unaffected.
  t.equal((await login(app, 'mj', 'tiger-lily')).statusCode, 200)
})

t.test('POST /api/token/: unknown usernames are counted too, and a success clears the count', async t => {
  const ghost = `nobody-${randomUUID()}`
  for (let i = 0; i < 10; i++) await login(app, ghost, 'x')
  t.equal((await login(app, ghost, 'x')).statusCode, 429, 'whether or not the user exists')

  for (let i = 0; i < 9; i++) await login(app, 'mj', 'wrong')
  t.equal((await login(app, 'mj', 'tiger-lily')).statusCode, 200)
  for (let i = 0; i < 9; i++) await login(app, 'mj', 'wrong')
  t.equal((await login(app, 'mj', 'wrong')).statusCode, 401, 'the earlier failures were forgotten after the success')
})

t.test('POST /api/token/: failures are counted per client IP as well', async t => {
  const perIp = await build(t, { LOGIN_THROTTLE_USERNAME: null, LOGIN_THROTTLE_IP: { failures: 3, seconds: 60 } }, { database })
  for (let i = 0; i < 3; i++) await login(perIp, `user-${i}-${randomUUID()}`, 'x', '203.0.113.7')
  t.equal((await login(perIp, 'spiderman', 'underoos', '203.0.113.7')).statusCode, 429, 'that client waits')
  t.equal((await login(perIp, 'spiderman', 'underoos', '198.51.100.2')).statusCode, 200, 'another client does not')
})

t.test('POST /api/token/: counters in Redis are shared by every instance', needsRedis, async t => {
  const shared = { ...limits, REDIS_URL }
  const [a, b] = [await build(t, shared, { database }), await build(t, shared, { database })]
  const username = `spidey-${randomUUID()}`
  await createUser(a, { username })
  for (let i = 0; i < 5; i++) t.equal((await login(a, username, 'wrong')).statusCode, 401)
  for (let i = 0; i < 5; i++) t.equal((await login(b, username, 'wrong')).statusCode, 401)
  t.equal((await login(a, username, 'underoos')).statusCode, 429, 'ten failures across two instances')
  t.equal((await login(b, username, 'underoos')).statusCode, 429)
})

t.test('POST /api/token/: with Redis unreachable, logins keep working and a warning is logged', async t => {
  const lines: string[] = []
  const { default: Fastify } = await import('fastify')
  const { default: fp } = await import('fastify-plugin')
  const { default: appPlugin, serverOptions } = await import('../../src/app.js')
  const { testConfig } = await import('../helper.js')
  const config = testConfig({ ...limits, REDIS_URL: 'redis://127.0.0.1:1', LOG_LEVEL: 'warn' })
  const server = Fastify({ ...serverOptions(config), logger: { level: 'warn', stream: { write: (line: string) => { lines.push(line) } } } })
  await server.register(fp(appPlugin), { config, database })
  await server.ready()
  t.teardown(() => server.close())

  const started = Date.now()
  t.equal((await login(server, 'spiderman', 'underoos')).statusCode, 200)
  for (let i = 0; i < 10; i++) await login(server, 'mj', 'wrong')
  t.equal((await login(server, 'mj', 'tiger-lily')).statusCode, 429, 'counted in this process meanwhile')
  t.ok(Date.now() - started < 10_000, 'and quickly')
  t.ok(lines.some(line => /Redis is unreachable/.test(line)), 'a warning names the problem')
  t.notOk(lines.some(line => line.includes('underoos') || line.includes('tiger-lily')), 'passwords are never logged')
})

// Issue 13, finding 9: REFRESH_THROTTLE, refreshes per user in fixed windows of the service's clock.
const refresh = (server: FastifyInstance, token: string) =>
  server.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh: token } })
const slidingRefresh = (server: FastifyInstance, token: string) =>
  server.inject({ method: 'POST', url: '/api/token/sliding/refresh/', payload: { token } })
const obtain = async (server: FastifyInstance, url: string, username: string, password: string) => {
  const res = await server.inject({ method: 'POST', url, payload: { username, password } })
  if (res.statusCode !== 200) throw new Error(`login ${username}: ${res.statusCode} ${res.body}`)
  return res.json()
}
const refreshLimits = { REFRESH_THROTTLE: { failures: 3, seconds: 60 }, AUTH_TOKEN_CLASSES: ['access', 'sliding'] as Array<'access' | 'sliding'> }

t.test('POST /api/token/refresh/ and sliding refresh: the 4th refresh of one user in a window is 429 until the window ends', async t => {
  // 21:41:30: the minute's window ends in 30 s.
  const clock = new Clock()
  const app = await build(t, refreshLimits, { database, clock })
  const { refresh: token } = await obtain(app, '/api/token/', 'spiderman', 'underoos')
  const { token: sliding } = await obtain(app, '/api/token/sliding/', 'spiderman', 'underoos')
  const { refresh: other } = await obtain(app, '/api/token/', 'mj', 'tiger-lily')

  t.equal((await refresh(app, token)).statusCode, 200)
  t.equal((await slidingRefresh(app, sliding)).statusCode, 200, 'sliding refreshes count for the same user')
  t.equal((await refresh(app, token)).statusCode, 200)
  clock.tick(10)
  for (const blocked of [await refresh(app, token), await slidingRefresh(app, sliding)]) {
    t.equal(blocked.statusCode, 429)
    t.same(blocked.json(), { detail: 'Request was throttled. Expected available in 20 seconds.' }, 'DRF\'s throttled body, to the end of the window')
    t.equal(blocked.headers['retry-after'], '20')
  }
  t.equal((await refresh(app, other)).statusCode, 200, 'another user is unaffected')
  t.equal((await refresh(app, 'not-a-token')).statusCode, 401, 'a token that names no one is refused as before')

  clock.tick(20)
  t.equal((await refresh(app, token)).statusCode, 200, 'a new window, a new count')
})

t.test('REFRESH_THROTTLE off: refreshes are not counted', async t => {
  const app = await build(t, { REFRESH_THROTTLE: null }, { database })
  const { refresh: token } = await obtain(app, '/api/token/', 'spiderman', 'underoos')
  for (let i = 0; i < 10; i++) t.equal((await refresh(app, token)).statusCode, 200)
})

t.test('REFRESH_THROTTLE with Redis: one count for every instance, in a window of the service\'s clock', needsRedis, async t => {
  const { Redis } = await import('ioredis')
  // A moment of this test's own (some day in 2030-2040), so that no other run shares its keys.
  const clock = new Clock(Date.UTC(2030, 0, 1) + Math.floor(Math.random() * 10 * 365 * 86400) * 1000)
  const window = Math.floor(clock.ms / 60_000)
  const direct = new Redis(REDIS_URL)
  t.teardown(() => direct.quit())
  const [a, b] = [await build(t, { ...refreshLimits, REDIS_URL }, { database, clock }), await build(t, { ...refreshLimits, REDIS_URL }, { database, clock })]
  const user = await createUser(a, { username: `refresher-${randomUUID()}` })
  const key = `fsj:refresh:user:${user.id}:${window}`
  t.teardown(() => direct.del(key, `fsj:refresh:user:${user.id}:${window + 1}`))
  const { refresh: token } = await obtain(a, '/api/token/', user.username, 'underoos')

  t.equal((await refresh(a, token)).statusCode, 200)
  t.equal((await refresh(b, token)).statusCode, 200)
  t.equal((await refresh(a, token)).statusCode, 200)
  t.equal(await direct.get(key), '3', 'counted in Redis')
  t.equal((await refresh(b, token)).statusCode, 429, 'the 4th refresh across two instances')
  t.ok(await direct.pttl(key) > 0, 'the key expires')
  clock.tick(60)
  t.equal((await refresh(b, token)).statusCode, 200, 'the next window')
})
