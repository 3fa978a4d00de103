// Two instances on one PostgreSQL, one of them (B) cut off from it through a TCP proxy while a
// "log out everywhere" happens on the other (A). Issue 13, finding 8: once B has noticed that it
// cannot hear notifications, it never answers a revoked token from memory: 401 when it can read the
// database, 503 when it cannot, never 200, and it recovers by itself soon after the network heals.
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { openDatabase } from '../../src/db/client.js'
import { bearer, build, Clock, createUser, obtainPair, testDatabase } from '../helper.js'
import { startTcpProxy } from '../helpers/tcp-proxy.js'

/** Small LISTEN timings for B: a silent partition is noticed within 100 + 300 ms. */
const TIMINGS = { heartbeatMs: 100, heartbeatTimeoutMs: 300, retryMs: 50, attemptTimeoutMs: 500 }
/** Headroom for a loaded machine. */
const MARGIN_MS = 1500
/** How long B noticing a partition may take: a reset at once, a silent one within the heartbeat's bound. */
const NOTICE_MS = TIMINGS.heartbeatMs + TIMINGS.heartbeatTimeoutMs + MARGIN_MS
/** DATABASE_TIMEOUT for both instances: small, with room for a loaded machine. */
const DATABASE_TIMEOUT_S = 2
/** How long each partition lasts. */
const PARTITION_MS = 2000
/** How soon after the heal B must log users in again. */
const RECOVERY_MS = DATABASE_TIMEOUT_S * 1000 + TIMINGS.retryMs + TIMINGS.attemptTimeoutMs + MARGIN_MS

const database = await testDatabase(t)

if (database.url === undefined) {
  t.pass('PostgreSQL only: PGlite runs inside the process and cannot be partitioned (set TEST_DATABASE_URL)')
} else {
  const url = database.url
  const target = new URL(url)
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
  t.teardown(() => proxy.close())
  // An open database keeps its own deadline: B's is DATABASE_TIMEOUT below.
  const other = await openDatabase(proxy.url(url), { dataDir: '', notificationTimings: TIMINGS, timeoutMs: DATABASE_TIMEOUT_S * 1000 })
  t.teardown(() => other.close())

  const clock = new Clock(Date.now())
  // Refresh throttling would answer 429 to the polling below; it is not what this file tests.
  const overrides = { DATABASE_TIMEOUT: DATABASE_TIMEOUT_S, REFRESH_THROTTLE: null }
  const a = await build(t, overrides, { database, clock })
  const b = await build(t, overrides, { database: other, clock })
  // B's subscription, as its caches see it (one per database).
  const { subscription, unlisten } = await other.listen('fsj_partition_probe', () => {})
  t.teardown(unlisten)

  interface Outcome { label: string, started: number, status: number | 'pending', ms: number }

  /** Sends `call` and records its outcome; `settled` resolves with it. */
  function track (outcomes: Outcome[], label: string, call: () => Promise<{ statusCode: number }>): Promise<void> {
    const outcome: Outcome = { label, started: Date.now(), status: 'pending', ms: 0 }
    outcomes.push(outcome)
    return call().then(
      (res) => { outcome.status = res.statusCode },
      () => { outcome.status = 0 }
    ).finally(() => { outcome.ms = Date.now() - outcome.started })
  }

  const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))
  /** `promise`, or a failure naming `what` after `ms`: this file never hangs, whatever B does. */
  async function bounded<T> (what: string, promise: Promise<T>, ms = DATABASE_TIMEOUT_S * 1000 + MARGIN_MS): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    try {
      return await Promise.race([promise, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms) })])
    } finally {
      clearTimeout(timer)
    }
  }
  const login = (app: FastifyInstance, username: string) => app.inject({ method: 'POST', url: '/api/token/', payload: { username, password: 'underoos' } })

  /**
   * Warms B's caches with a user's tokens, partitions B, revokes everything of that user on A, and
   * polls B with the revoked tokens during the partition and after the heal.
   */
  async function scenario (t: Test, username: string, partition: () => Promise<void> | void) {
    await createUser(a, { username })
    const pair = await obtainPair(a, username)
    const hello = () => b.inject({ method: 'GET', url: '/api/hello/', headers: bearer(pair.access) })
    const refresh = () => b.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh: pair.refresh } })
    t.equal((await hello()).statusCode, 200, 'B has cached the user')
    t.equal((await refresh()).statusCode, 200, 'B has cached the refresh token\'s status')
    t.equal(subscription.subscribed, true)

    let noticed = Infinity
    const onDown = () => { noticed = Math.min(noticed, Date.now()) }
    subscription.on('down', onDown)
    t.teardown(() => subscription.off('down', onDown))

    const partitioned = Date.now()
    await partition()
    clock.tick(1)
    const revoked = await a.inject({ method: 'POST', url: '/api/token/revoke-all/', headers: bearer(pair.access) })
    t.equal(revoked.statusCode, 200, 'A logs the user out everywhere')
    t.equal((await a.inject({ method: 'GET', url: '/api/hello/', headers: bearer(pair.access) })).statusCode, 401, 'A refuses at once')

    const outcomes: Outcome[] = []
    const settled: Array<Promise<void>> = []
    while (Date.now() - partitioned < PARTITION_MS) {
      settled.push(track(outcomes, 'hello', hello), track(outcomes, 'refresh', refresh))
      await sleep(100)
    }
    t.ok(noticed - partitioned <= NOTICE_MS, `B noticed the partition after ${noticed - partitioned} ms`)

    // The partition ends. The proxy dropped the bytes a silent partition swallowed, which a real network
    // does not (TCP retransmits them once it heals, or resets the connection): the connections that
    // lost a query are reset here, as TCP eventually does. Every request has ended by its deadline already.
    if (proxy.mode === 'blackhole') proxy.cut()
    await proxy.heal()
    const healed = Date.now()
    let recovered = Infinity
    while (Date.now() - healed < RECOVERY_MS) {
      settled.push(track(outcomes, 'hello', hello), track(outcomes, 'refresh', refresh))
      const res = await bounded('a login on B after the heal', login(b, username)).catch(() => undefined)
      if (res?.statusCode === 200 && subscription.subscribed) {
        recovered = Date.now() - healed
        break
      }
      await sleep(50)
    }
    t.ok(recovered <= RECOVERY_MS, `B logs users in again ${recovered} ms after the heal`)

    // Every request ends: within its bound when database calls are bounded, soon after the heal otherwise.
    await Promise.race([Promise.all(settled), sleep(DATABASE_TIMEOUT_S * 1000 + MARGIN_MS)])
    const pending = outcomes.filter(o => o.status === 'pending')
    t.same(pending, [], 'no request is left hanging after the heal')

    const trusted = outcomes.filter(o => o.started < noticed)
    const after = outcomes.filter(o => o.started >= noticed)
    t.ok(after.length > 10, `${after.length} requests after B noticed (${trusted.length} before, from memory)`)
    const accepted = after.filter(o => o.status === 200)
    t.same(accepted, [], 'no revoked token accepted by B once it noticed, during the partition or after')
    const undocumented = after.filter(o => o.status !== 401 && o.status !== 503 && o.status !== 'pending')
    t.same(undocumented, [], 'every answer is 401 or 503')
    const slow = outcomes.filter(o => o.ms > DATABASE_TIMEOUT_S * 1000 + MARGIN_MS)
    t.same(slow, [], `every request ended within DATABASE_TIMEOUT + ${MARGIN_MS} ms`)

    // Recovered: the revoked tokens stay refused, a new login works and is served from memory again.
    t.equal((await bounded('hello', hello())).statusCode, 401)
    t.equal((await bounded('refresh', refresh())).statusCode, 401)
    // A login in the revocation's own second is cut off with it: a second later.
    clock.tick(1)
    const fresh = await bounded('login', obtainPair(b, username))
    t.equal((await bounded('hello', b.inject({ method: 'GET', url: '/api/hello/', headers: bearer(fresh.access) }))).statusCode, 200)
    t.equal((await bounded('live', b.inject({ method: 'GET', url: '/health/live' }))).statusCode, 200, 'the process lives')
  }

  t.test('a silent partition (no reset): B notices by its heartbeat, then never answers 200 to a revoked token', async t => {
    await scenario(t, 'silent', () => proxy.blackhole())
  })

  t.test('a reset, then refused connections: B notices at once and answers 503 or 401, never 200', async t => {
    await scenario(t, 'reset', () => proxy.refuse())
  })

  t.test('a reset that heals at once: the revocation made during the reconnect is not lost', async t => {
    await scenario(t, 'blip', () => proxy.cut())
  })
}
