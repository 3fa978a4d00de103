// The LISTEN subscription's state (issue 13, finding 8): a reset is 'down' at once, a silent
// partition is 'down' within the heartbeat's bound, and the subscription is back promptly after the
// database is, not after a reconnect backoff. Faults go through a TCP proxy; PostgreSQL is never touched.
import t from 'tap'
import { once } from 'node:events'
import { sql } from 'drizzle-orm'
import { openDatabase, type Database } from '../../src/db/client.js'
import type { Subscription } from '../../src/db/notifications.js'
import { startTcpProxy } from '../helpers/tcp-proxy.js'
import { testDatabase, type TestLike } from '../helper.js'

/** Small timings: a partition is noticed within 100 + 300 ms, a retry every 50 ms, each bounded by 500 ms. */
const TIMINGS = { heartbeatMs: 100, heartbeatTimeoutMs: 300, retryMs: 50, attemptTimeoutMs: 500 }
/** Headroom for a loaded machine (two cores shared by several test runs). */
const MARGIN_MS = 1500

const database = await testDatabase(t)

/** Milliseconds until `subscription` emits `event`; fails the test beyond `ms`. */
async function until (subscription: Subscription, event: 'up' | 'down', ms: number): Promise<number> {
  const started = Date.now()
  const signal = AbortSignal.timeout(ms)
  try {
    await once(subscription, event, { signal })
  } catch {
    throw new Error(`no '${event}' within ${ms} ms`)
  }
  return Date.now() - started
}

/** Polls until `check` holds, or fails beyond `ms`. */
async function eventually (ms: number, check: () => boolean): Promise<void> {
  const started = Date.now()
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

const notify = (channel: string, payload: string) => database.db.execute(sql`select pg_notify(${channel}, ${payload})`)

if (database.url === undefined) {
  t.test('PGlite: LISTEN runs in the process, is subscribed at once and never drops', async t => {
    const got: string[] = []
    const { subscription, unlisten } = await database.listen('fsj_probe', (payload) => got.push(payload))
    t.equal(subscription.subscribed, true)
    await notify('fsj_probe', 'hello')
    await eventually(1000, () => got.length === 1)
    t.same(got, ['hello'])
    await unlisten()
  })
} else {
  const target = new URL(database.url)
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
  t.teardown(() => proxy.close())

  /** A database whose every connection (the LISTEN one included) goes through the proxy. */
  async function proxied (t: TestLike): Promise<Database> {
    const opened = await openDatabase(proxy.url(database.url as string), { dataDir: '', notificationTimings: TIMINGS })
    t.teardown(() => opened.close())
    return opened
  }

  /** Listens on `channel`, collecting payloads. */
  async function collect (db: Database, channel: string) {
    const got: string[] = []
    const listening = await db.listen(channel, (payload) => got.push(payload))
    return { got, ...listening }
  }

  /** True once a notification sent now arrives. */
  async function delivers (got: string[], channel: string, payload: string): Promise<void> {
    await notify(channel, payload)
    await eventually(MARGIN_MS, () => got.includes(payload))
  }

  t.test('subscribed after listen; notifications arrive on every channel, one connection for all', async t => {
    const db = await proxied(t)
    const before = proxy.connections
    const a = await collect(db, 'fsj_probe_a')
    t.equal(a.subscription.subscribed, true)
    const b = await collect(db, 'fsj_probe_b')
    t.equal(b.subscription, a.subscription, 'one subscription per database')
    t.equal(proxy.connections, before + 1, 'one LISTEN connection')
    await delivers(a.got, 'fsj_probe_a', 'one')
    await delivers(b.got, 'fsj_probe_b', 'two')
    t.same(a.got, ['one'], 'each listener hears its own channel only')
    await b.unlisten()
    await delivers(a.got, 'fsj_probe_a', 'three')
    await a.unlisten()
    t.equal(a.subscription.subscribed, false, 'the last unlisten ends the subscription')
    await eventually(MARGIN_MS, () => proxy.connections === before)
    t.pass('and closes its connection')
  })

  t.test('a reset is down at once; the subscription is back within a retry, not a backoff', async t => {
    const db = await proxied(t)
    const { got, subscription, unlisten } = await collect(db, 'fsj_probe')
    t.teardown(unlisten)
    for (let round = 0; round < 3; round++) {
      const down = until(subscription, 'down', MARGIN_MS)
      const up = until(subscription, 'up', TIMINGS.retryMs + MARGIN_MS)
      proxy.cut()
      t.ok(await down < MARGIN_MS, `round ${round}: down after the reset`)
      t.ok(await up < TIMINGS.retryMs + MARGIN_MS, `round ${round}: up again`)
      await delivers(got, 'fsj_probe', `after reset ${round}`)
    }
  })

  t.test('refused: down at once, retried every retryMs, up soon after the database is back', async t => {
    const db = await proxied(t)
    const { got, subscription, unlisten } = await collect(db, 'fsj_probe')
    t.teardown(unlisten)
    const down = until(subscription, 'down', MARGIN_MS)
    await proxy.refuse()
    await down
    await new Promise(resolve => setTimeout(resolve, 300))
    t.equal(subscription.subscribed, false, 'stays down while refused')
    const up = until(subscription, 'up', TIMINGS.retryMs + TIMINGS.attemptTimeoutMs + MARGIN_MS)
    await proxy.heal()
    t.ok(await up >= 0, 'up after the database is back')
    await delivers(got, 'fsj_probe', 'after refusal')
  })

  t.test('a silent partition (no reset) is down within the heartbeat bound; up after it heals', async t => {
    const db = await proxied(t)
    const { got, subscription, unlisten } = await collect(db, 'fsj_probe')
    t.teardown(unlisten)
    const down = until(subscription, 'down', TIMINGS.heartbeatMs + TIMINGS.heartbeatTimeoutMs + MARGIN_MS)
    proxy.blackhole()
    const took = await down
    t.ok(took >= TIMINGS.heartbeatTimeoutMs - 50, `noticed by the heartbeat's timeout (${took} ms)`)
    // Attempts during the partition connect to the proxy and hear nothing: each ends at its bound.
    await new Promise(resolve => setTimeout(resolve, TIMINGS.attemptTimeoutMs + 200))
    t.equal(subscription.subscribed, false, 'stays down while partitioned')
    const up = until(subscription, 'up', TIMINGS.retryMs + TIMINGS.attemptTimeoutMs + MARGIN_MS)
    await proxy.heal()
    await up
    await delivers(got, 'fsj_probe', 'after partition')
  })

  t.test('a channel added while down is listened to when the subscription comes back', async t => {
    const db = await proxied(t)
    const first = await collect(db, 'fsj_probe')
    t.teardown(first.unlisten)
    await proxy.refuse()
    await eventually(MARGIN_MS, () => !first.subscription.subscribed)
    const adding = collect(db, 'fsj_probe_late')
    await proxy.heal()
    const late = await adding
    t.teardown(late.unlisten)
    await eventually(TIMINGS.attemptTimeoutMs + MARGIN_MS, () => late.subscription.subscribed)
    await delivers(late.got, 'fsj_probe_late', 'late')
    await delivers(first.got, 'fsj_probe', 'early')
  })

  t.test('close ends the subscription and its retries', async t => {
    const db = await openDatabase(proxy.url(database.url as string), { dataDir: '', notificationTimings: TIMINGS })
    const { subscription } = await collect(db, 'fsj_probe')
    await proxy.refuse()
    await eventually(MARGIN_MS, () => !subscription.subscribed)
    await db.close()
    await proxy.heal()
    await new Promise(resolve => setTimeout(resolve, TIMINGS.retryMs + TIMINGS.attemptTimeoutMs))
    t.equal(subscription.subscribed, false, 'no attempt after close')
    await t.rejects(db.listen('fsj_probe', () => {}), /closed/)
  })
}
