// While PostgreSQL is away, requests that need it get 503 JSON quickly; the service recovers by itself.
import t from 'tap'
import { createServer, connect, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { openDatabase } from '../../src/db/client.js'
import { bearer, build, createUser, obtainPair, testDatabase } from '../helper.js'
import { TEST_DATABASE_URL } from '../setup/databases.js'

if (TEST_DATABASE_URL === undefined) {
  t.pass('PostgreSQL only: PGlite runs inside the process and cannot go away (set TEST_DATABASE_URL)')
} else {
  const { url } = await testDatabase(t)
  const target = new URL(url as string)

  // A TCP proxy we control stands between the service and PostgreSQL: stopping it is PostgreSQL
  // going away (connections cut, new ones refused); starting it again on the same port brings it back.
  const sockets = new Set<Socket>()
  const proxy = createServer(client => {
    const upstream = connect(Number(target.port || 5432), target.hostname)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => {})
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>(resolve => proxy.listen(0, '127.0.0.1', resolve))
  const port = (proxy.address() as AddressInfo).port
  const stop = () => new Promise<void>(resolve => {
    for (const socket of sockets) socket.destroy()
    if (proxy.listening) proxy.close(() => resolve())
    else resolve()
  })
  const start = () => new Promise<void>(resolve => proxy.listen(port, '127.0.0.1', resolve))
  t.teardown(stop)
  const proxied = new URL(url as string)
  proxied.host = `127.0.0.1:${port}`

  const database = await openDatabase(proxied.toString(), { dataDir: '' })
  t.teardown(() => database.close())
  const app = await build(t, {}, { database })
  await createUser(app)
  const pair = await obtainPair(app)

  const timed = async (fn: () => Promise<{ statusCode: number, json: () => unknown }>) => {
    const started = Date.now()
    const res = await fn()
    return { status: res.statusCode, body: res.json(), ms: Date.now() - started }
  }

  t.test('database down: 503 JSON instead of a hang; live stays up', async t => {
    await stop()
    const unavailable = { detail: 'Service temporarily unavailable, try again later.' }
    for (const [label, call] of [
      ['hello', () => app.inject({ method: 'GET', url: '/api/hello/', headers: bearer(pair.access) })],
      ['login', () => app.inject({ method: 'POST', url: '/api/token/', payload: { username: 'spiderman', password: 'underoos' } })],
      ['refresh', () => app.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh: pair.refresh } })],
      ['ready', () => app.inject({ method: 'GET', url: '/health/ready' })]
    ] as const) {
      const res = await timed(call)
      t.equal(res.status, 503, `${label} status`)
      t.same(res.body, unavailable, `${label} body`)
      t.ok(res.ms < 5000, `${label} answered in ${res.ms} ms, not hanging`)
    }
    const live = await app.inject({ method: 'GET', url: '/health/live' })
    t.equal(live.statusCode, 200, 'the process itself is alive')
  })

  t.test('database back: the service recovers without a restart', async t => {
    await start()
    const hello = await app.inject({ method: 'GET', url: '/api/hello/', headers: bearer(pair.access) })
    t.equal(hello.statusCode, 200)
    t.same(hello.json(), { msg: 'Hello Peter Parker' })
    t.equal((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode, 200)
    t.equal((await app.inject({ method: 'POST', url: '/api/token/', payload: { username: 'spiderman', password: 'underoos' } })).statusCode, 200)
  })
}
