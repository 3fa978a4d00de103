// Issue 13, finding 5: the password-check queue is bounded per client (LOGIN_QUEUE_PER_CLIENT) and
// in all (LOGIN_QUEUE_SIZE). A flood of wrong logins from one address is answered 429 at once beyond
// its share, and another address's login waits for a few hashes only, not for the whole flood.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, createUser, testDatabase } from '../helper.js'
import { HASH_CONCURRENCY, hashesDone, hashLoad } from '../../src/domain/passwords.js'
import { createLoginQueue } from '../../src/domain/login-queue.js'
import { ServiceUnavailable, Throttled } from '../../src/domain/errors.js'

const THROTTLED = { detail: 'Request was throttled. Expected available in 1 second.' }
const UNAVAILABLE = { detail: 'Service temporarily unavailable, try again later.' }
const FLOOD = 60
// However loaded the machine, every answer comes within this (the flood costs a few hashes only).
const BOUND_MS = 20_000

const database = await testDatabase(t)

const login = (app: FastifyInstance, username: string, password: string, ip: string) =>
  app.inject({ method: 'POST', url: '/api/token/', payload: { username, password }, remoteAddress: ip })

/** Statuses counted: { 401: n, 429: m, … }. */
const tally = (statuses: number[]) => statuses.reduce<Record<number, number>>((all, s) => ({ ...all, [s]: (all[s] ?? 0) + 1 }), {})

t.test('one address floods wrong logins: its overflow is 429 at once, another address waits for a few hashes only', async t => {
  const app = await build(t, { LOGIN_QUEUE_PER_CLIENT: 4, LOGIN_QUEUE_SIZE: 32 }, { database })
  await createUser(app)
  // The dummy hash for unknown users is made once, at the first unknown login: not during the count.
  t.equal((await login(app, 'nobody', 'x', '198.51.100.9')).statusCode, 401)

  const started = Date.now()
  const hashesBefore = hashesDone()
  let refused = 0
  // Half the flood names a user, half no one (the dummy hash): both take places in the queue.
  const flood = Array.from({ length: FLOOD }, (_, i) => login(app, i % 2 === 0 ? 'spiderman' : `ghost-${i}`, `wrong-${i}`, '203.0.113.66')
    .then(res => { if (res.statusCode === 429) refused++; return res }))
  // The other login comes once every flood request is either refused or hashing or waiting to.
  const settled = () => { const { running, waiting } = hashLoad(); return refused + hashesDone() - hashesBefore + running + waiting >= FLOOD }
  while (!settled() && Date.now() - started < BOUND_MS) await new Promise(resolve => setTimeout(resolve, 2))
  const before = hashesDone()
  const good = await login(app, 'spiderman', 'underoos', '198.51.100.1')
  const ahead = hashesDone() - before - 1
  t.equal(good.statusCode, 200, 'the other address logs in')
  // At most the flooder's places (and the checks already running) are ahead of it; before the bound,
  // the whole flood was.
  t.ok(ahead <= 4 + HASH_CONCURRENCY, `${ahead} hashes ran ahead of the other address's login (at most ${4 + HASH_CONCURRENCY})`)

  const answers = await Promise.all(flood)
  t.ok(Date.now() - started < BOUND_MS, 'every request ended within the bound')
  const counts = tally(answers.map(res => res.statusCode))
  t.same(Object.keys(counts).sort(), ['401', '429'], `only 401 and 429: ${JSON.stringify(counts)}`)
  t.ok(counts[401] >= 4, 'the flooder\'s own share was checked')
  t.ok(counts[429] >= FLOOD / 2, 'the rest was refused before any hashing')
  for (const res of answers.filter(res => res.statusCode === 429)) {
    t.same(res.json(), THROTTLED, 'DRF\'s throttled body')
    t.equal(res.headers['retry-after'], '1')
  }
  t.equal(hashesDone() - hashesBefore, counts[401] + 1, 'no refused login was hashed')

  // The places are given back: the flooder may log in again, and the process lives.
  t.equal((await login(app, 'spiderman', 'underoos', '203.0.113.66')).statusCode, 200)
  t.equal(app.simplejwt.loginQueue.size, 0, 'the queue is empty again')
  t.equal((await app.inject({ method: 'GET', url: '/health/live' })).statusCode, 200)
})

t.test('logins from many addresses beyond LOGIN_QUEUE_SIZE: 503 with Retry-After at once', async t => {
  const app = await build(t, { LOGIN_QUEUE_PER_CLIENT: 100, LOGIN_QUEUE_SIZE: 3 }, { database })
  const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => login(app, `ghost-${i}`, 'x', `192.0.2.${i + 1}`)))
  const counts = tally(answers.map(res => res.statusCode))
  t.same(Object.keys(counts).sort(), ['401', '503'], `only 401 and 503: ${JSON.stringify(counts)}`)
  t.ok(counts[401] >= 3)
  for (const res of answers.filter(res => res.statusCode === 503)) {
    t.same(res.json(), UNAVAILABLE)
    t.equal(res.headers['retry-after'], '1')
  }
  t.equal(app.simplejwt.loginQueue.size, 0)
  t.equal((await login(app, 'ghost-0', 'x', '192.0.2.1')).statusCode, 401, 'the next login is checked again')
})

t.test('createLoginQueue: per-client places first, then the total; leaving twice gives back one place', async t => {
  const queue = createLoginQueue({ size: 3, perClient: 2 })
  const a1 = queue.enter('a')
  queue.enter('a')
  t.throws(() => queue.enter('a'), new Throttled(1))
  queue.enter('b')
  t.throws(() => queue.enter('c'), new ServiceUnavailable(1))
  a1()
  a1()
  t.equal(queue.size, 2)
  t.doesNotThrow(() => queue.enter('c'))
  t.throws(() => queue.enter('d'), new ServiceUnavailable(1))
})
