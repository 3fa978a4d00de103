// The token serializers on in-memory stores, no app, no database: the credentials check (TokenObtainSerializer.validate), then obtain, refresh (rotation, lost race, reuse), verify, blacklist and the sliding three.
import { createHmac, timingSafeEqual } from 'node:crypto'
import t from 'tap'
import { authenticateCredentials, blacklisted, createTokenSerializers, orInvalid } from '../../src/domain/serializers.js'
import { createAccounts } from '../../src/domain/accounts.js'
import { configFromOptions } from '../../src/domain/settings.js'
import { createTokenService, type Claims, type Decoded } from '../../src/domain/tokens.js'
import { AuthenticationFailed, InvalidToken, TokenError, Throttled } from '../../src/domain/errors.js'
import { createLoginQueue } from '../../src/domain/login-queue.js'
import { hashesDone, hashPassword } from '../../src/domain/passwords.js'
import type { LoginAttempts } from '../../src/domain/ports.js'
import { FakeTokenStore, FakeUserStore } from '../helpers/fakes.js'

/**
 * Counts like src/db/login-attempts.ts: one point per attempt, taken before the check (after a
 * store's round trip), refused past `limit`; a refund gives the point back, a success clears the
 * count. `events` is what the login rule told it, in order.
 */
function countingThrottle (limit = Infinity) {
  let points = 0
  const events: string[] = []
  const throttle: LoginAttempts = {
    async consume (username) {
      await new Promise(resolve => setImmediate(resolve))
      if (points >= limit) throw new Throttled(60)
      points++
      events.push(`consume ${username}`)
    },
    async refund (username) { points--; events.push(`refund ${username}`) },
    async succeeded (username) { points = 0; events.push(`succeeded ${username}`) }
  }
  return { throttle, events }
}

const log = { warn () {}, child () { return log } }

async function setup (limit?: number, queueSize = { size: 4, perClient: 2 }) {
  const users = Object.assign(new FakeUserStore(), {
    rehashed: [] as number[],
    lookups: 0,
    async findByUsername (this: FakeUserStore & { lookups: number }, username: string) {
      this.lookups++
      return await FakeUserStore.prototype.findByUsername.call(this, username)
    },
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
  const queue = createLoginQueue(queueSize)
  const { throttle, events } = countingThrottle(limit)
  const login = (username: string, password: string) =>
    authenticateCredentials({ users, loginThrottle: throttle, loginQueue: queue }, { username, password, ip: '192.0.2.1', log })
  return { users, queue, events, login }
}

t.test('the right password of an active user: the user, the failures cleared, the queue left', async t => {
  const { queue, events, login } = await setup()
  const user = await login('spiderman', 'underoos')
  t.equal(user.firstName, 'Peter')
  t.same(events, ['consume spiderman', 'succeeded spiderman'], 'the point taken before the check, the count cleared after')
  t.equal(queue.size, 0)
})

t.test('unknown user, wrong password, inactive user: one answer, one failure counted each', async t => {
  const { queue, events, login } = await setup()
  for (const [username, password] of [['nobody', 'x'], ['spiderman', 'wrong'], ['venom', 'symbiote']]) {
    await t.rejects(login(username, password), new AuthenticationFailed('No active account found with the given credentials'), username)
  }
  t.same(events, ['consume nobody', 'consume spiderman', 'consume venom'], 'each keeps the point it took')
  t.equal(queue.size, 0, 'every place in the queue given back')
})

t.test('throttled: refused before any lookup or hash', async t => {
  const { login, events, users } = await setup(0)
  const looked = users.lookups
  const hashes = hashesDone()
  await t.rejects(login('spiderman', 'underoos'), Throttled)
  t.same(events, [], 'nothing more counted')
  t.equal(users.lookups, looked, 'no lookup')
  t.equal(hashesDone(), hashes, 'no hash')
})

// Issue 15, finding 3: the throttle was checked before the hash and counted after, so that 40 wrong
// passwords sent at once were all checked, and the right one among them was accepted.
t.test('many wrong logins at once: no more password checks than the limit, and the right password among them is refused', async t => {
  const { login, events, users } = await setup(5, { size: 100, perClient: 100 })
  const [hashes, lookups] = [hashesDone(), users.lookups]
  const attempts = [...Array.from({ length: 20 }, (_, i) => login('spiderman', `wrong-${i}`)), login('spiderman', 'underoos')]
  const outcomes = await Promise.allSettled(attempts)
  const refused = (outcome: PromiseSettledResult<unknown>, type: new (...args: never[]) => Error) =>
    outcome.status === 'rejected' && outcome.reason instanceof type
  t.equal(outcomes.filter(outcome => refused(outcome, AuthenticationFailed)).length, 5, 'five wrong passwords checked')
  t.equal(outcomes.filter(outcome => refused(outcome, Throttled)).length, 16, 'the rest refused, the right password too')
  t.equal(hashesDone() - hashes, 5, 'five hashes, no more')
  t.equal(users.lookups - lookups, 5, 'five look-ups')
  t.equal(events.length, 5, 'five points kept')
  await t.rejects(login('spiderman', 'underoos'), Throttled, 'and the right password after them')
})

t.test('an attempt the login queue refuses, or a server fault, gives its point back', async t => {
  const { login, events, users } = await setup(Infinity, { size: 1, perClient: 1 })
  const [first, second] = await Promise.allSettled([login('spiderman', 'wrong'), login('spiderman', 'wrong')])
  t.equal(first.status === 'rejected' && first.reason instanceof AuthenticationFailed, true, 'the first is checked')
  t.equal(second.status === 'rejected' && second.reason instanceof Throttled, true, 'the second finds the queue full')
  t.same(events, ['consume spiderman', 'consume spiderman', 'refund spiderman'])
  events.length = 0
  users.findByUsername = async () => { throw new Error('database down') }
  await t.rejects(login('spiderman', 'underoos'), /database down/)
  t.same(events, ['consume spiderman', 'refund spiderman'], 'not counted as a failure')
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

// ---- The token serializers: obtain, refresh (rotation, lost race, reuse), verify, blacklist, sliding ----

/** A strict HS256 signer and verifier standing in for @fastify/jwt's. */
function hs256 (key: string) {
  const b64 = (value: string) => Buffer.from(value).toString('base64url')
  const mac = (input: string) => createHmac('sha256', key).update(input).digest('base64url')
  return {
    sign (claims: Claims): string {
      const input = `${b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64(JSON.stringify(claims))}`
      return `${input}.${mac(input)}`
    },
    verify (token: string): Decoded {
      const [header, payload, signature] = token.split('.')
      const expected = Buffer.from(mac(`${header}.${payload}`))
      const given = Buffer.from(signature ?? '')
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw new Error('bad signature')
      return { header: JSON.parse(Buffer.from(header, 'base64url').toString()), payload: JSON.parse(Buffer.from(payload, 'base64url').toString()) }
    }
  }
}

async function tokenSetup (settings: Record<string, unknown> = {}) {
  const config = configFromOptions({ JWT_SIGNING_KEY: 'serializer-test-key-0123456789abcdef', ...settings })
  let ms = Date.UTC(2026, 10, 29, 21, 41, 30)
  const now = () => ms
  const users = Object.assign(new FakeUserStore(), {
    lastLogins: [] as number[],
    async rehashPassword () { return false },
    async touchLastLogin (this: { lastLogins: number[] }, id: number) { this.lastLogins.push(id) }
  })
  const store = new FakeTokenStore(users)
  const spiderman = await users.create({ username: 'spiderman', password: await hashPassword('underoos') })
  const { sign, verify } = hs256(config.JWT_SIGNING_KEY as string)
  const tokens = createTokenService({ settings: config, sign, verify, now })
  const hits: number[] = []
  const warnings: Array<Record<string, unknown>> = []
  const callerLog = { warn (details: Record<string, unknown>) { warnings.push(details) }, child () { return callerLog } }
  const caller = { ip: '192.0.2.7', userAgent: 'web-spinner/1.0', log: callerLog }
  const serializers = createTokenSerializers({
    config,
    now,
    tokens,
    users,
    userCache: { get: (id) => users.findById(id) },
    blacklist: store,
    loginThrottle: countingThrottle().throttle,
    loginQueue: createLoginQueue({ size: 4, perClient: 2 }),
    refreshThrottle: { async hit (userId) { hits.push(userId) } }
  })
  const accounts = createAccounts({ users, tokens: store, now })
  const credentials = { username: 'spiderman', password: 'underoos' }
  return { serializers, store, users, accounts, spiderman, tokens, hits, warnings, caller, credentials, tick: (seconds: number) => { ms += seconds * 1000 } }
}

const BLACKLISTED = new InvalidToken('Token is blacklisted')

t.test('obtainPair: a pair for the credentials\' user; the refresh token starts a family; the login is recorded', async t => {
  const { serializers, store, users, spiderman, tokens, caller, credentials } = await tokenSetup({ UPDATE_LAST_LOGIN: true })
  const { refresh, access } = await serializers.obtainPair(credentials, caller)
  const claims = tokens.validate(refresh, 'refresh')
  t.equal(tokens.validate(access, 'access').jti === claims.jti, false, 'two tokens, two jtis')
  t.match(store.outstanding.get(claims.jti as string), { userId: spiderman.id, family: claims.jti })
  t.same(users.lastLogins, [spiderman.id])
  await t.rejects(serializers.obtainPair({ username: 'spiderman', password: 'wrong' }, caller), AuthenticationFailed)
})

t.test('refresh without rotation: an access token only; the throttle counts the user first', async t => {
  const { serializers, users, hits, spiderman, caller, credentials } = await tokenSetup()
  const { refresh } = await serializers.obtainPair(credentials, caller)
  t.same(users.lastLogins, [], 'UPDATE_LAST_LOGIN is off by default')
  const answer = await serializers.refresh(refresh, caller)
  t.same(Object.keys(answer), ['access'])
  t.same(hits, [spiderman.id])
  await t.rejects(serializers.refresh(answer.access, caller), new InvalidToken('Token has wrong type'))
  await users.updateById(spiderman.id, { isActive: false })
  await t.rejects(serializers.refresh(refresh, caller), new AuthenticationFailed('No active account found for the given token.', 'no_active_account'), 'a user deactivated behind the account service\'s back')
})

t.test('rotation: the next token in the family; the presented one blacklisted; a retry within the interval only refused', async t => {
  const { serializers, store, tokens, warnings, caller, credentials, tick } = await tokenSetup({ ROTATE_REFRESH_TOKENS: true, BLACKLIST_AFTER_ROTATION: true, REFRESH_REUSE_INTERVAL: 10 })
  const { refresh } = await serializers.obtainPair(credentials, caller)
  const family = tokens.validate(refresh, 'refresh').jti as string
  tick(1)
  const next = await serializers.refresh(refresh, caller)
  t.type(next.refresh, 'string')
  const child = tokens.validate(next.refresh as string, 'refresh').jti as string
  t.match(store.outstanding.get(child), { family, parentJti: family })
  t.match(store.blacklisted.get(family), { reason: 'rotated', ip: '192.0.2.7', userAgent: 'web-spinner/1.0' })
  await t.rejects(serializers.refresh(refresh, caller), BLACKLISTED, 'a retry')
  t.notOk(store.revokedFamilies.has(family), 'within REFRESH_REUSE_INTERVAL: not taken for theft')
  t.same(warnings, [])
  t.ok(await serializers.refresh(next.refresh as string, caller), 'the family lives on')
})

t.test('reuse after the interval: the whole family is revoked, once, with one warning naming both presenters', async t => {
  const { serializers, store, tokens, warnings, caller, credentials, tick, spiderman } = await tokenSetup({ ROTATE_REFRESH_TOKENS: true, BLACKLIST_AFTER_ROTATION: true })
  const { refresh } = await serializers.obtainPair(credentials, caller)
  const family = tokens.validate(refresh, 'refresh').jti as string
  const next = await serializers.refresh(refresh, caller)
  tick(1)
  const thief = { ...caller, ip: '203.0.113.9', userAgent: 'curl/8' }
  await t.rejects(serializers.refresh(refresh, thief), BLACKLISTED)
  t.ok(store.revokedFamilies.has(family))
  t.match(warnings, [{ event: 'refresh_token_reuse', userId: spiderman.id, family, rotatedBy: { ip: '192.0.2.7' }, replayedBy: { ip: '203.0.113.9', userAgent: 'curl/8' } }])
  await t.rejects(serializers.refresh(next.refresh as string, caller), BLACKLISTED, 'the rightful child goes too')
  await t.rejects(serializers.refresh(refresh, thief), BLACKLISTED)
  t.equal(warnings.length, 1, 'the family is revoked once')
  await t.rejects(serializers.verify(next.refresh as string), BLACKLISTED)
})

t.test('concurrent refreshes of one token: exactly one rotates, the other is a replay', async t => {
  const { serializers, caller, credentials } = await tokenSetup({ ROTATE_REFRESH_TOKENS: true, BLACKLIST_AFTER_ROTATION: true })
  const { refresh } = await serializers.obtainPair(credentials, caller)
  const results = await Promise.allSettled([serializers.refresh(refresh, caller), serializers.refresh(refresh, caller)])
  t.same(results.map(result => result.status).sort(), ['fulfilled', 'rejected'])
  t.same(results.filter(result => result.status === 'rejected').map(result => (result as PromiseRejectedResult).reason), [BLACKLISTED])
})

t.test('rotation without BLACKLIST_AFTER_ROTATION: the presented token still works', async t => {
  const { serializers, store, caller, credentials } = await tokenSetup({ ROTATE_REFRESH_TOKENS: true, BLACKLIST_AFTER_ROTATION: false })
  const { refresh } = await serializers.obtainPair(credentials, caller)
  const first = await serializers.refresh(refresh, caller)
  const second = await serializers.refresh(refresh, caller)
  t.not(first.refresh, second.refresh)
  t.equal(store.blacklisted.size, 0)
  t.equal(store.outstanding.size, 3)
})

t.test('revocation: after log out everywhere, a deactivation or a new password, earlier tokens mint nothing and do not verify', async t => {
  for (const revoke of ['revokeAll', 'deactivate', 'setPassword'] as const) {
    const { serializers, accounts, spiderman, caller, credentials, tick } = await tokenSetup()
    const { refresh, access } = await serializers.obtainPair(credentials, caller)
    tick(1)
    if (revoke === 'revokeAll') await accounts.revokeAll(spiderman.id)
    else if (revoke === 'deactivate') await accounts.update(spiderman.id, { isActive: false })
    else await accounts.setPassword(spiderman.id, 'with great power')
    // Reactivating does not bring the old tokens back.
    if (revoke === 'deactivate') await accounts.update(spiderman.id, { isActive: true })
    await t.rejects(serializers.refresh(refresh, caller), BLACKLISTED, revoke)
    await t.rejects(serializers.verify(access), BLACKLISTED, `${revoke}: the access token`)
    await t.rejects(serializers.verify(refresh), BLACKLISTED, `${revoke}: the refresh token`)
  }
})

t.test('verify: any valid token passes; an invalid one is simplejwt\'s 401', async t => {
  const { serializers, caller, credentials, tick } = await tokenSetup()
  const { refresh, access } = await serializers.obtainPair(credentials, caller)
  await serializers.verify(access)
  await serializers.verify(refresh)
  await t.rejects(serializers.verify('not.a.token'), new InvalidToken('Token is invalid'))
  tick(301)
  await t.rejects(serializers.verify(access), new InvalidToken('Token is invalid or expired'))
})

t.test('blacklist (log out): the token is refused from then on; twice is refused', async t => {
  const { serializers, store, tokens, caller, credentials } = await tokenSetup()
  const { refresh } = await serializers.obtainPair(credentials, caller)
  await serializers.blacklist(refresh, caller)
  t.match(store.blacklisted.get(tokens.validate(refresh, 'refresh').jti as string), { reason: 'logout' })
  await t.rejects(serializers.blacklist(refresh, caller), BLACKLISTED)
  await t.rejects(serializers.refresh(refresh, caller), BLACKLISTED)
})

t.test('sliding: obtain, refresh keeps the jti and refresh_exp, log out ends it and every refresh of it', async t => {
  const { serializers, store, tokens, caller, credentials, tick } = await tokenSetup({ AUTH_TOKEN_CLASSES: ['access', 'sliding'] })
  const { token } = await serializers.obtainSliding(credentials, caller)
  const claims = tokens.validate(token, 'sliding')
  t.ok(store.outstanding.has(claims.jti as string))
  tick(60)
  const refreshed = await serializers.refreshSliding(token, caller)
  const next = tokens.validate(refreshed.token, 'sliding')
  t.equal(next.jti, claims.jti)
  t.equal(next.refresh_exp, claims.refresh_exp)
  t.equal(next.exp, (claims.exp as number) + 60)
  await serializers.blacklistSliding(refreshed.token, caller)
  await t.rejects(serializers.refreshSliding(token, caller), BLACKLISTED)
  await t.rejects(serializers.blacklistSliding(token, caller), BLACKLISTED)
  await t.rejects(serializers.verify(refreshed.token), BLACKLISTED)
})
