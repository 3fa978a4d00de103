// Issue 15, finding 3: the login throttle was checked before the password hash and counted after it,
// so that 40 wrong passwords sent at once were all checked, and the right password sent after 39
// wrong ones (while they were still hashing) was accepted. Now every attempt takes its point before
// the check: however many arrive at once, on however many instances, no more than the limit are
// hashed, and every later attempt, the right password included, is 429. In this process and in Redis.
import t, { type Test } from 'tap'
import { randomUUID } from 'node:crypto'
import { connect } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { build, createUser, testDatabase } from '../helper.js'
import { hashesDone, hashLoad } from '../../src/domain/passwords.js'
import type { RateLimit } from '../../src/domain/settings.js'

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const redisUp = await new Promise<boolean>(resolve => {
  const { hostname, port } = new URL(REDIS_URL)
  const socket = connect(Number(port || 6379), hostname, () => { socket.end(); resolve(true) })
  socket.on('error', () => resolve(false))
})
const needsRedis = redisUp || process.env.CI === 'true' ? {} : { skip: `no Redis at ${REDIS_URL}` }

const LIMIT = 5
const FLOOD = 40
const BOUND_MS = 30_000
const database = await testDatabase(t)

const login = (app: FastifyInstance, username: string, password: string, ip: string) =>
  app.inject({ method: 'POST', url: '/api/token/', payload: { username, password }, remoteAddress: ip })

/** Statuses counted: { 401: n, 429: m, … }. */
const tally = (statuses: number[]) => statuses.reduce<Record<number, number>>((all, s) => ({ ...all, [s]: (all[s] ?? 0) + 1 }), {})

/**
 * FLOOD wrong logins at once, spread over the instances; once each is refused or hashing or
 * waiting to, the right password (on the last instance). Then: at most LIMIT hashes, and 429 for it.
 */
async function flood (t: Test, apps: FastifyInstance[], counter: 'username' | 'ip') {
  const username = `racer-${randomUUID()}`
  await createUser(apps[0], { username })
  // The dummy hash for unknown users is made once, at the first unknown login: not during the count.
  await login(apps[0], `nobody-${randomUUID()}`, 'x', '198.51.100.250')
  // Per username: one address per attempt; per address: a username per attempt (most of them unknown).
  const ip = `203.0.113.${Math.floor(Math.random() * 200) + 1}`
  const attempt = (i: number) => counter === 'username'
    ? login(apps[i % apps.length], username, `wrong-${i}`, `192.0.2.${i + 1}`)
    : login(apps[i % apps.length], i % 2 === 0 ? username : `ghost-${i}-${randomUUID()}`, `wrong-${i}`, ip)

  const started = Date.now()
  const hashesBefore = hashesDone()
  let answered = 0
  const wrong = Array.from({ length: FLOOD }, (_, i) => attempt(i).then(res => { answered++; return res }))
  const settled = () => { const { running, waiting } = hashLoad(); return answered + hashesDone() - hashesBefore + running + waiting >= FLOOD }
  while (!settled() && Date.now() - started < BOUND_MS) await new Promise(resolve => setTimeout(resolve, 2))
  const right = await login(apps[apps.length - 1], username, 'underoos', counter === 'username' ? '192.0.2.200' : ip)
  const answers = await Promise.all(wrong)

  const counts = tally(answers.map(res => res.statusCode))
  t.equal(counts[401], LIMIT, `${LIMIT} wrong passwords checked: ${JSON.stringify(counts)}`)
  t.equal(counts[429], FLOOD - LIMIT, 'the rest refused before any hashing')
  t.equal(hashesDone() - hashesBefore, LIMIT, `${LIMIT} password hashes, no more`)
  t.equal(right.statusCode, 429, 'the right password sent during the flood is refused')
  t.ok(Number(right.headers['retry-after']) >= 1, 'with Retry-After')
  t.equal((await login(apps[0], username, 'underoos', counter === 'username' ? '192.0.2.201' : ip)).statusCode, 429, 'and after it')
}

const perUsername = { LOGIN_THROTTLE_USERNAME: { failures: LIMIT, seconds: 60 } as RateLimit, LOGIN_THROTTLE_IP: null }
const perIp = { LOGIN_THROTTLE_USERNAME: null, LOGIN_THROTTLE_IP: { failures: LIMIT, seconds: 60 } as RateLimit }

t.test('in this process, per username: at most the limit is checked', async t => {
  await flood(t, [await build(t, perUsername, { database })], 'username')
})

t.test('in this process, per address: at most the limit is checked', async t => {
  await flood(t, [await build(t, perIp, { database })], 'ip')
})

t.test('in Redis, two instances, per username: at most the limit is checked in all', needsRedis, async t => {
  const shared = { ...perUsername, REDIS_URL }
  await flood(t, [await build(t, shared, { database }), await build(t, shared, { database })], 'username')
})

t.test('in Redis, two instances, per address: at most the limit is checked in all', needsRedis, async t => {
  const shared = { ...perIp, REDIS_URL }
  await flood(t, [await build(t, shared, { database }), await build(t, shared, { database })], 'ip')
})

t.test('a success gives the address its point back and clears the username\'s count', async t => {
  const app = await build(t, { LOGIN_THROTTLE_USERNAME: { failures: 3, seconds: 60 }, LOGIN_THROTTLE_IP: { failures: 3, seconds: 60 } }, { database })
  const username = `steady-${randomUUID()}`
  await createUser(app, { username })
  const ip = '198.51.100.77'
  t.equal((await login(app, username, 'wrong', ip)).statusCode, 401)
  t.equal((await login(app, username, 'underoos', ip)).statusCode, 200)
  t.equal((await login(app, username, 'wrong', ip)).statusCode, 401)
  t.equal((await login(app, username, 'underoos', ip)).statusCode, 200, 'the successes took no point of the address\'s three')
  t.equal((await login(app, username, 'wrong', ip)).statusCode, 401, 'the third failure')
  t.equal((await login(app, username, 'underoos', ip)).statusCode, 429, 'then the address waits, whatever the password')
})
