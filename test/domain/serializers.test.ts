// The credentials check (simplejwt's TokenObtainSerializer.validate) on in-memory stores: no app, no database.
import t from 'tap'
import { authenticateCredentials, blacklisted, orInvalid } from '../../src/domain/serializers.js'
import { AuthenticationFailed, InvalidToken, TokenError, Throttled } from '../../src/domain/errors.js'
import { createLoginQueue } from '../../src/domain/login-queue.js'
import { hashPassword } from '../../src/domain/passwords.js'
import type { LoginAttempts } from '../../src/domain/ports.js'
import { FakeUserStore } from '../helpers/fakes.js'

/** Counts what the login rule tells the throttle; refuses once `limit` failures are counted. */
function countingThrottle (limit = Infinity) {
  const failures: string[] = []
  const successes: string[] = []
  const throttle: LoginAttempts = {
    async check () { if (failures.length >= limit) throw new Throttled(60) },
    async failed (username) { failures.push(username) },
    async succeeded (username) { successes.push(username) }
  }
  return { throttle, failures, successes }
}

const log = { warn () {}, child () { return log } }

async function setup (limit?: number) {
  const users = Object.assign(new FakeUserStore(), {
    rehashed: [] as number[],
    async rehashPassword (this: FakeUserStore & { rehashed: number[] }, id: number, current: string, next: string) {
      const row = this.rows.get(id)
      if (row?.password !== current) return false
      row.password = next
      this.rehashed.push(id)
      return true
    }
  })
  await users.create({ username: 'spiderman', password: await hashPassword('underoos'), firstName: 'Peter' })
  await users.create({ username: 'venom', password: await hashPassword('symbiote'), isActive: false })
  const queue = createLoginQueue({ size: 4, perClient: 2 })
  const { throttle, failures, successes } = countingThrottle(limit)
  const login = (username: string, password: string) =>
    authenticateCredentials({ users, loginThrottle: throttle, loginQueue: queue }, { username, password, ip: '192.0.2.1', log })
  return { users, queue, failures, successes, login }
}

t.test('the right password of an active user: the user, the failures cleared, the queue left', async t => {
  const { queue, successes, failures, login } = await setup()
  const user = await login('spiderman', 'underoos')
  t.equal(user.firstName, 'Peter')
  t.same(successes, ['spiderman'])
  t.same(failures, [])
  t.equal(queue.size, 0)
})

t.test('unknown user, wrong password, inactive user: one answer, one failure counted each', async t => {
  const { queue, failures, login } = await setup()
  for (const [username, password] of [['nobody', 'x'], ['spiderman', 'wrong'], ['venom', 'symbiote']]) {
    await t.rejects(login(username, password), new AuthenticationFailed('No active account found with the given credentials'), username)
  }
  t.same(failures, ['nobody', 'spiderman', 'venom'])
  t.equal(queue.size, 0, 'every place in the queue given back')
})

t.test('throttled: refused before any lookup or hash', async t => {
  const { login, failures } = await setup(0)
  await t.rejects(login('spiderman', 'underoos'), Throttled)
  t.same(failures, [], 'nothing more counted')
})

t.test('a legacy hash becomes argon2id after a successful login, not after a failed one', async t => {
  const { users, login } = await setup()
  // Django's MD5PasswordHasher: md5$<salt>$md5(<salt><password>)
  const legacy = await users.create({ username: 'mj', password: 'md5$salt$6452231364a9f2b39863675148fc68a1' })
  await t.rejects(login('mj', 'wrong'))
  t.same(users.rehashed, [], 'a wrong password changes nothing')
  await login('mj', 'underoos2')
  t.same(users.rehashed, [legacy.id])
  t.match(users.rows.get(legacy.id)?.password, /^argon2\$argon2id\$/, 'now argon2id')
  t.equal((await login('mj', 'underoos2')).id, legacy.id, 'and the same password still works')
})

t.test('orInvalid and blacklisted: simplejwt\'s 401s', async t => {
  t.throws(() => orInvalid(() => { throw new TokenError('Token is invalid or expired') }), InvalidToken)
  t.equal(orInvalid(() => 42), 42)
  t.throws(() => orInvalid(() => { throw new RangeError('not a token error') }), RangeError)
  t.same([blacklisted().statusCode, blacklisted().body], [401, { detail: 'Token is blacklisted', code: 'token_not_valid' }])
})
