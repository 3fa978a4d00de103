// PostgreSQL faults through a TCP proxy (never the machine's server): connections reset under login and
// refresh traffic, a partition, a row lock held by another session. The process lives, every request
// ends within DATABASE_TIMEOUT plus a margin with 200, 401 or 503, and the service recovers.
import t from 'tap'
import postgres from 'postgres'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { openDatabase } from '../../src/db/client.js'
import type { TestLike } from '../helper.js'
import { bearer, build, createUser, obtainPair, testDatabase } from '../helper.js'
import { TEST_DATABASE_URL } from '../setup/databases.js'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js'

const TIMEOUT_S = 1
/** DATABASE_TIMEOUT, plus the time a login spends hashing on a loaded machine. */
const BOUND_MS = TIMEOUT_S * 1000 + 1500
const UNAVAILABLE = { detail: 'Service temporarily unavailable, try again later.' }

if (TEST_DATABASE_URL === undefined) {
  t.pass('PostgreSQL only: PGlite runs inside the process and has no connection to reset (set TEST_DATABASE_URL)')
} else {
  // The process must survive every fault: anything that would have ended it is recorded and fails the file.
  const fatal: unknown[] = []
  const record = (err: unknown) => { fatal.push(err) }
  process.on('uncaughtException', record)
  process.on('unhandledRejection', record)
  t.teardown(() => {
    process.off('uncaughtException', record)
    process.off('unhandledRejection', record)
  })

  /** A database of its own behind a proxy, and the app on it with a 1 s DATABASE_TIMEOUT. */
  const setUp = async (t: TestLike, overrides: Record<string, unknown> = {}): Promise<{ app: FastifyInstance, proxy: TcpProxy, url: string }> => {
    const { url } = await testDatabase(t)
    const target = new URL(url as string)
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
    t.teardown(() => proxy.close())
    const database = await openDatabase(proxy.url(url as string), { dataDir: '', timeoutMs: TIMEOUT_S * 1000 })
    t.teardown(() => database.close())
    const app = await build(t, {
      DATABASE_TIMEOUT: TIMEOUT_S,
      ROTATE_REFRESH_TOKENS: true,
      BLACKLIST_AFTER_ROTATION: true,
      REFRESH_REUSE_DETECTION: true,
      REFRESH_THROTTLE: null,
      LOGIN_QUEUE_PER_CLIENT: 32,
      ...overrides
    } as never, { database })
    await createUser(app)
    return { app, proxy, url: url as string }
  }

  const timed = async (app: FastifyInstance, options: InjectOptions) => {
    const started = Date.now()
    const res = await app.inject(options)
    return { status: res.statusCode, body: res.json() as Record<string, unknown>, headers: res.headers, ms: Date.now() - started }
  }
  const login: InjectOptions = { method: 'POST', url: '/api/token/', payload: { username: 'spiderman', password: 'underoos' } }

  t.test('20 connection resets under login and refresh traffic: no crash, bounded answers, recovery', { timeout: 30_000 }, async t => {
    const { app, proxy } = await setUp(t)
    const first = await obtainPair(app)
    const rotated = await timed(app, { method: 'POST', url: '/api/token/refresh/', payload: { refresh: first.refresh } })
    t.equal(rotated.status, 200, 'the first refresh token is rotated away (and blacklisted)')

    const statuses: Record<number, number> = {}
    const slow: number[] = []
    const traffic = { running: true }
    const worker = async (kind: 'login' | 'refresh') => {
      let refresh: string | undefined
      while (traffic.running) {
        const res = kind === 'login' || refresh === undefined
          ? await timed(app, login)
          : await timed(app, { method: 'POST', url: '/api/token/refresh/', payload: { refresh } })
        statuses[res.status] = (statuses[res.status] ?? 0) + 1
        if (res.ms > BOUND_MS) slow.push(res.ms)
        if (res.status === 503) t.same(res.body, UNAVAILABLE, '503 body')
        if (res.status === 200) refresh = res.body.refresh as string
        else if (res.status === 401) refresh = undefined
      }
    }
    const workers = [worker('login'), worker('login'), worker('refresh'), worker('refresh'), worker('refresh'), worker('refresh')]
    for (let cut = 0; cut < 20; cut++) {
      await new Promise(resolve => setTimeout(resolve, 100))
      proxy.cut()
    }
    traffic.running = false
    await Promise.all(workers)

    t.same(Object.keys(statuses).filter(status => !['200', '401', '503'].includes(status)), [], `only 200, 401 and 503 (${JSON.stringify(statuses)})`)
    t.same(slow, [], `every request answered within ${BOUND_MS} ms`)
    t.ok(statuses[200] > 0, 'requests between the resets succeed')

    // Recovery: the proxy passes again; within a few seconds everything answers as before.
    let ready = 0
    for (let i = 0; i < 20 && ready !== 200; i++) {
      ready = (await app.inject({ method: 'GET', url: '/health/ready' })).statusCode
      if (ready !== 200) await new Promise(resolve => setTimeout(resolve, 250))
    }
    t.equal(ready, 200, 'ready again')
    const pair = await obtainPair(app)
    t.equal((await timed(app, { method: 'POST', url: '/api/token/refresh/', payload: { refresh: pair.refresh } })).status, 200, 'refresh works again')
    t.equal((await app.inject({ method: 'GET', url: '/api/hello/', headers: bearer(pair.access) })).statusCode, 200, 'authentication works again')
    const revoked = await timed(app, { method: 'POST', url: '/api/token/refresh/', payload: { refresh: first.refresh } })
    t.equal(revoked.status, 401, 'the token rotated away before the resets is still refused')
    t.same(fatal, [], 'no uncaught exception or unhandled rejection')
  })

  t.test('partition (blackhole): 503 with Retry-After within the bound; live stays up', { timeout: 30_000 }, async t => {
    const { app, proxy } = await setUp(t)
    const pair = await obtainPair(app)
    // The user is cached by now: a protected view needs no database, so it is not part of this.
    proxy.blackhole()
    for (const [label, options] of [
      ['login', login],
      ['refresh', { method: 'POST', url: '/api/token/refresh/', payload: { refresh: pair.refresh } }],
      ['ready', { method: 'GET', url: '/health/ready' }]
    ] as Array<[string, InjectOptions]>) {
      const res = await timed(app, options)
      t.equal(res.status, 503, `${label} status`)
      t.same(res.body, UNAVAILABLE, `${label} body`)
      t.ok(res.ms <= BOUND_MS, `${label} answered in ${res.ms} ms`)
      if (label !== 'ready') t.ok(Number(res.headers['retry-after']) > 0, `${label} Retry-After`)
    }
    t.equal((await app.inject({ method: 'GET', url: '/health/live' })).statusCode, 200, 'live')

    // The partition ends. The proxy dropped the bytes sent meanwhile (TCP would have delivered them
    // late), so the connections that had a query in flight wait until closed; the pool's others serve.
    await proxy.heal()
    t.equal((await timed(app, login)).status, 200, 'logins succeed once the partition ends')
    t.equal((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode, 200, 'ready again')
    t.same(fatal, [], 'no uncaught exception or unhandled rejection')
  })

  t.test('a row lock held by another session: 503 within the bound, then normal again', { timeout: 30_000 }, async t => {
    const { app, url } = await setUp(t, { UPDATE_LAST_LOGIN: true })
    // Another session locks the user's row (directly, not through the proxy) until told to let go.
    const side = postgres(url, { max: 1, onnotice: () => {} })
    t.teardown(() => side.end({ timeout: 1 }))
    let release = () => {}
    let locked = () => {}
    const held = new Promise<void>(resolve => { locked = resolve })
    const holding = side.begin(async sql => {
      await sql`select id from simplejwt.users where username = 'spiderman' for update`
      locked()
      await new Promise<void>(resolve => { release = resolve })
    })
    await held
    const res = await timed(app, login)
    t.equal(res.status, 503, 'login waits for last_login\'s row at most lock_timeout')
    t.same(res.body, UNAVAILABLE)
    t.ok(res.ms <= BOUND_MS, `answered in ${res.ms} ms`)
    release()
    await holding
    t.equal((await timed(app, login)).status, 200, 'the lock released, logins succeed')
    t.same(fatal, [], 'no uncaught exception or unhandled rejection')
  })
}
