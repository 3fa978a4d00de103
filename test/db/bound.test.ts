// Every call through Database.db is bounded by its deadline (src/db/bound.ts), on both drivers; a
// transaction whose deadline passes rolls back. Here over a client handed in as an application would
// (a Drizzle database's $client), which on PostgreSQL also gets the limits by SET LOCAL.
import t from 'tap'
import { eq, sql } from 'drizzle-orm'
import { resolveDatabase } from '../../src/db/client.js'
import { DatabaseTimeout, withDeadline } from '../../src/db/bound.js'
import { isDatabaseUnavailable } from '../../src/db/client.js'
import { users } from '../../src/db/schema.js'
import { testDatabase } from '../helper.js'

const DEADLINE_MS = 400
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

const base = await testDatabase(t)
const database = await resolveDatabase(base.db as never, undefined, { dataDir: '', timeoutMs: DEADLINE_MS })
const { db } = database

t.test('withDeadline: the value in time, DatabaseTimeout (503) after the deadline', async t => {
  t.equal(await withDeadline(Promise.resolve(7), 50), 7)
  const late = withDeadline(sleep(200).then(() => { throw new Error('late failure, handled') }), 20)
  await t.rejects(late, DatabaseTimeout)
  t.ok(isDatabaseUnavailable(new DatabaseTimeout(20)), 'classified as the database being unavailable')
  await sleep(250)
})

t.test('queries within the deadline work; ping too', async t => {
  t.same(await db.select({ id: users.id }).from(users).where(eq(users.username, 'nobody')), [])
  await database.ping()
  t.equal(database.timeoutMs, DEADLINE_MS)
})

t.test('a transaction outliving its deadline rejects in time and rolls back', async t => {
  const started = Date.now()
  const run = db.transaction(async (tx) => {
    await tx.insert(users).values({ username: 'slowpoke', password: '!' })
    await sleep(DEADLINE_MS + 300)
    await tx.insert(users).values({ username: 'slowpoke2', password: '!' })
  })
  await t.rejects(run, DatabaseTimeout)
  const elapsed = Date.now() - started
  t.ok(elapsed < DEADLINE_MS + 250, `rejected after ${elapsed} ms`)
  await sleep(400)
  const left = await db.select({ username: users.username }).from(users).where(eq(users.username, 'slowpoke'))
  t.same(left, [], 'nothing of it was committed')
})

t.test('a transaction within its deadline commits', async t => {
  await db.transaction(async (tx) => { await tx.insert(users).values({ username: 'quick', password: '!' }) })
  t.equal((await db.select({ id: users.id }).from(users).where(eq(users.username, 'quick'))).length, 1)
})

if (database.driver === 'postgres') {
  t.test('SET LOCAL gives a passed-in client the server-side limits inside transactions', async t => {
    const limits = await db.transaction(async (tx) => tx.execute(sql`select current_setting('statement_timeout') as statement, current_setting('lock_timeout') as lock`)) as unknown as Array<{ statement: string, lock: string }>
    t.same(limits[0], { statement: '360ms', lock: '360ms' })
  })

  t.test('a statement running past the deadline: 503-class error in time', async t => {
    const started = Date.now()
    const err = await db.execute(sql`select pg_sleep(2)`).then(() => undefined, (e: unknown) => e)
    t.ok(isDatabaseUnavailable(err), `unavailable (${(err as Error)?.name})`)
    t.ok(Date.now() - started < DEADLINE_MS + 250, 'in time')
  })
}
