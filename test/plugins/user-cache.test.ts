// The hot path's user cache: no query per request, and changes reach every instance within a second.
import t from 'tap'
import { EventEmitter } from 'node:events'
import { sql } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { openDatabase, type Database } from '../../src/db/client.js'
import type { User } from '../../src/db/schema.js'
import { createUserCache } from '../../src/db/caches.js'
import { bearer, build, Clock, createUser, decodeParts, obtainPair, testDatabase, type TestLike } from '../helper.js'

const user = (id: number, firstName = 'Peter'): User => ({
  id,
  username: `u${id}`,
  password: 'argon2$…',
  firstName,
  lastName: 'Parker',
  email: '',
  isActive: true,
  isStaff: false,
  isSuperuser: false,
  lastLogin: null,
  dateJoined: new Date(0),
  tokensValidAfter: null,
  djangoPassword: null
})

t.test('createUserCache: loads once, serves from memory, never keeps the password', async t => {
  let loads = 0
  let now = 0
  const cache = createUserCache({ load: async (id) => { loads++; return id < 100 ? user(id) : undefined }, ttlMs: 1000, maxEntries: 3, now: () => now })
  const [a, b] = await Promise.all([cache.get(1), cache.get(1)])
  t.equal(loads, 1, 'concurrent misses share one load')
  t.same(a, b)
  t.notOk('password' in (a as object), 'the hash is not cached')
  await cache.get(1)
  t.equal(loads, 1, 'a hit costs no load')
  t.equal(await cache.get(404), undefined)
  await cache.get(404)
  t.equal(loads, 2, 'unknown ids are remembered too')
  now += 1001
  await cache.get(1)
  t.equal(loads, 3, 'the TTL is a backstop')
})

t.test('createUserCache: invalidation, LRU eviction, and a load that races a change', async t => {
  let first = 'Peter'
  let release: () => void = () => {}
  const gate = new Promise<void>(resolve => { release = resolve })
  let gated = false
  const cache = createUserCache({
    load: async (id) => {
      if (gated) await gate
      return user(id, first)
    },
    ttlMs: 60_000,
    maxEntries: 2,
    now: () => 0
  })
  await cache.get(1)
  first = 'Miles'
  cache.invalidate(1)
  t.equal((await cache.get(1))?.firstName, 'Miles')

  await cache.get(2)
  await cache.get(1) // 1 is now the most recent
  await cache.get(3) // evicts 2
  t.equal(cache.size, 2)

  // A load that started before a change must not put the old row back.
  gated = true
  cache.invalidate(3)
  const racing = cache.get(3)
  first = 'Gwen'
  cache.invalidate(3)
  release()
  t.equal((await racing)?.firstName, 'Gwen')
  gated = false
  first = 'Ben'
  t.equal((await cache.get(3))?.firstName, 'Ben', 'the raced load was not cached')
  cache.clear()
  t.equal(cache.size, 0)
})

const database = await testDatabase(t)

/** Polls (no fixed sleep) until `check` holds; returns the milliseconds it took. */
async function within (ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now()
  while (Date.now() - started < ms) {
    if (await check()) return Date.now() - started
    await new Promise(resolve => setImmediate(resolve))
  }
  return Infinity
}

t.test('hello answers from memory: no user query per request in steady state', async t => {
  const app = await build(t, {}, { database })
  await createUser(app)
  const { access } = await obtainPair(app)
  let queries = 0
  const original = app.simplejwt.users.findById
  app.simplejwt.users.findById = async (id: number) => { queries++; return original(id) }
  t.teardown(() => { app.simplejwt.users.findById = original })
  for (let i = 0; i < 20; i++) {
    const res = await app.inject({ method: 'GET', url: '/api/hello/', headers: bearer(access) })
    t.equal(res.statusCode, 200)
  }
  t.ok(queries <= 1, `${queries} user queries for 20 requests`)
})

/**
 * Two instances of the service on one database, with no users. On PostgreSQL the second has its own
 * pool and LISTEN connection, as another process would.
 */
async function twoInstances (t: TestLike) {
  const other = database.url === undefined ? database : await openDatabase(database.url, { dataDir: '' })
  if (other !== database) t.teardown(() => other.close())
  const clock = new Clock(Date.now())
  const a = await build(t, {}, { database, clock })
  const b = await build(t, {}, { database: other, clock })
  await a.simplejwt.db.execute(sql`truncate simplejwt.users restart identity cascade`)
  return { a, b, clock }
}

t.test('deactivation and revoke-all reach another instance within one second', async t => {
  const { a, b, clock } = await twoInstances(t)
  const spidey = await createUser(a, { username: 'miles', firstName: 'Miles', lastName: 'Morales' })
  const pair = await obtainPair(a, 'miles', 'underoos')
  const hello = (app: FastifyInstance) => app.inject({ method: 'GET', url: '/api/hello/', headers: bearer(pair.access) })
  t.equal((await hello(b)).statusCode, 200, 'B has cached the user')

  // A change made outside both instances, as the CLI or an operator would make it.
  await a.simplejwt.db.execute(sql`update simplejwt.users set is_active = false where id = ${spidey.id}`)
  const took = await within(1000, async () => (await hello(b)).json().code === 'user_inactive')
  t.ok(took <= 1000, `deactivation reached B in ${took} ms`)

  await a.simplejwt.db.execute(sql`update simplejwt.users set is_active = true where id = ${spidey.id}`)
  t.ok(await within(1000, async () => (await hello(b)).statusCode === 200) <= 1000, 'reactivation too')

  // Log out everywhere on A, a second after the login: B refuses the token within a second.
  clock.tick(1)
  const revoked = await a.inject({ method: 'POST', url: '/api/token/revoke-all/', headers: bearer(pair.access) })
  t.equal(revoked.statusCode, 200)
  t.equal((await hello(a)).statusCode, 401, 'A at once')
  const tookRevoke = await within(1000, async () => (await hello(b)).statusCode === 401)
  t.ok(tookRevoke <= 1000, `revoke-all reached B in ${tookRevoke} ms`)
})

t.test('refresh answers from memory in steady state; a logout anywhere reaches every instance', async t => {
  const { a, b } = await twoInstances(t)
  await createUser(a, { username: 'gwen' })
  const pair = await obtainPair(a, 'gwen', 'underoos')
  const refresh = (app: FastifyInstance, token = pair.refresh) => app.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh: token } })

  // Counted at the database: statuses read by each instance.
  let reads = 0
  const { blacklist } = b.simplejwt
  const original = blacklist.freshStatus
  blacklist.freshStatus = async (jti: string) => { reads++; return original(jti) }
  t.teardown(() => { blacklist.freshStatus = original })
  for (let i = 0; i < 20; i++) t.equal((await refresh(b)).statusCode, 200)
  t.ok(reads <= 1, `${reads} status reads for 20 refreshes`)

  // Logged out on A: A refuses at once, B within a second (NOTIFY from the blacklist's trigger).
  const out = await a.inject({ method: 'POST', url: '/api/token/blacklist/', payload: { refresh: pair.refresh } })
  t.equal(out.statusCode, 200)
  t.equal((await refresh(a)).json().detail, 'Token is blacklisted', 'A at once')
  const took = await within(1000, async () => (await refresh(b)).statusCode === 401)
  t.ok(took <= 1000, `the logout reached B in ${took} ms`)
  t.equal((await refresh(b)).json().detail, 'Token is blacklisted')

  // A token blacklisted in plain SQL (an operator), and a reset of the blacklist, reach B too.
  const second = await obtainPair(a, 'gwen', 'underoos')
  t.equal((await refresh(b, second.refresh)).statusCode, 200, 'B has cached the second token\'s status')
  const jti = decodeParts(second.refresh).payload.jti as string
  await a.simplejwt.db.execute(sql`insert into simplejwt.blacklisted_tokens (jti, reason, blacklisted_at, expires_at) values (${jti}, 'logout', now(), now() + interval '1 day')`)
  t.ok(await within(1000, async () => (await refresh(b, second.refresh)).statusCode === 401) <= 1000, 'plain SQL reached B')
  await a.simplejwt.db.execute(sql`truncate simplejwt.blacklisted_tokens`)
  t.ok(await within(1000, async () => (await refresh(b, second.refresh)).statusCode === 200) <= 1000, 'so did emptying the blacklist')
})

/** A subscription the test drops and restores, standing for the LISTEN connection (src/db/notifications.ts). */
class FakeSubscription extends EventEmitter {
  subscribed = true
  drop (): void { this.subscribed = false; this.emit('down', new Error('test')) }
  restore (): void { this.subscribed = true; this.emit('up') }
}

t.test('while the subscription is down both caches read through: a change whose notification is lost is seen at once', async t => {
  const subscription = new FakeSubscription()
  let deaf = false
  // The test's database, whose notifications are lost while `deaf`, as while the LISTEN connection is down.
  const hard: Database = {
    ...database,
    close: async () => {},
    async listen (channel, onNotify) {
      const { unlisten } = await database.listen(channel, (payload) => { if (!deaf) onNotify(payload) })
      return { subscription: subscription as never, unlisten }
    }
  }
  const app = await build(t, {}, { database: hard })
  const user = await createUser(app, { username: 'deaf' })
  const pair = await obtainPair(app, 'deaf', 'underoos')
  const hello = () => app.inject({ method: 'GET', url: '/api/hello/', headers: bearer(pair.access) })
  const refresh = () => app.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh: pair.refresh } })
  t.equal((await hello()).statusCode, 200)
  t.equal((await refresh()).statusCode, 200)
  let reads = 0
  const original = app.simplejwt.users.findById
  app.simplejwt.users.findById = async (id: number) => { reads++; return original(id) }
  t.teardown(() => { app.simplejwt.users.findById = original })
  await hello()
  t.equal(reads, 0, 'from memory while subscribed')

  subscription.drop()
  deaf = true
  await app.simplejwt.db.execute(sql`update simplejwt.users set is_active = false where id = ${user.id}`)
  const jti = decodeParts(pair.refresh).payload.jti as string
  await app.simplejwt.db.execute(sql`insert into simplejwt.blacklisted_tokens (jti, reason, blacklisted_at, expires_at) values (${jti}, 'logout', now(), now() + interval '1 day')`)
  t.equal((await hello()).json().code, 'user_inactive', 'the deactivation is seen at once, its notification lost')
  t.equal((await refresh()).json().detail, 'Token is blacklisted', 'so is the blacklisting')
  await hello()
  t.equal(reads, 3, 'every request reads the user while down (hello, refresh, hello)')

  deaf = false
  subscription.restore()
  await app.simplejwt.db.execute(sql`update simplejwt.users set is_active = true where id = ${user.id}`)
  t.ok(await within(1000, async () => (await hello()).statusCode === 200) <= 1000, 'notifications again after the return')
  // Once the reactivation's own notification has come by, hellos are answered from memory again.
  t.ok(await within(1000, async () => { const before = reads; await hello(); await hello(); return reads === before }) <= 1000, 'and memory again')
})
