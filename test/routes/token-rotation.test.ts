import t from 'tap'
import { build, Clock, createUser, decodeParts, obtainPair, resetDb, testDatabase } from '../helper.js'
import { activeFor } from '../helpers/db.js'

const clock = new Clock()
const database = await testDatabase(t)
const app = await build(t, { ROTATE_REFRESH_TOKENS: true, BLACKLIST_AFTER_ROTATION: true, REFRESH_REUSE_DETECTION: true }, { clock, database })
t.beforeEach(() => resetDb(app))

const BLACKLISTED = { detail: 'Token is blacklisted', code: 'token_not_valid' }
const refresh = (token: string, headers: Record<string, string> = {}, target = app) =>
  target.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh: token }, headers })

t.test('POST /api/token/refresh/: rotation answers access then refresh; the old token is blacklisted (rows 13-14)', async t => {
  await createUser(app)
  const pair = await obtainPair(app)
  clock.tick(2)
  const res = await refresh(pair.refresh)
  t.equal(res.statusCode, 200)
  t.same(Object.keys(res.json()), ['access', 'refresh'])
  const next = decodeParts(res.json().refresh)
  const old = decodeParts(pair.refresh)
  t.same(Object.keys(next.payload), ['token_type', 'exp', 'iat', 'jti', 'user_id'])
  t.equal(next.payload.iat, clock.seconds)
  t.equal(next.payload.exp, clock.seconds + 86400)
  t.not(next.payload.jti, old.payload.jti)
  // The access token copies the refresh token's iat, as simplejwt does.
  t.equal(decodeParts(res.json().access).payload.iat, old.payload.iat)

  const replay = await refresh(pair.refresh)
  t.equal(replay.statusCode, 401)
  t.same(replay.json(), BLACKLISTED)
})

t.test('POST /api/token/refresh/: a rotated-away token presented again revokes its whole family (D9)', async t => {
  const user = await createUser(app)
  const pair = await obtainPair(app)
  const other = await obtainPair(app) // another device: another family, untouched
  const stolen = pair.refresh
  const rotated = await refresh(stolen, { 'user-agent': 'victim-browser' })
  const newest = rotated.json().refresh as string
  const next = await refresh(newest)
  const newer = next.json().refresh as string
  t.equal(next.statusCode, 200)

  const replay = await refresh(stolen, { 'user-agent': 'thief-script' })
  t.equal(replay.statusCode, 401)
  t.same(replay.json(), BLACKLISTED)

  // The newest token of that family is dead too; the other device's family is not.
  t.same((await refresh(newer)).json(), BLACKLISTED)
  const otherNext = await refresh(other.refresh)
  t.equal(otherNext.statusCode, 200)
  t.same(await activeFor(app.simplejwt.db, user.id), [decodeParts(otherNext.json().refresh).payload.jti], 'only the other device holds a usable refresh token')
})

t.test('reuse detection logs one warning naming user, family and both presenters, never the token', async t => {
  await createUser(app)
  const lines: string[] = []
  const logged = await build(t, { ROTATE_REFRESH_TOKENS: true, BLACKLIST_AFTER_ROTATION: true, REFRESH_REUSE_DETECTION: true }, { clock, database })
  // A second app on the same database, whose logger writes into `lines`.
  const { default: Fastify } = await import('fastify')
  const { default: fp } = await import('fastify-plugin')
  const { default: appPlugin, serverOptions } = await import('../../src/app.js')
  const { testConfig } = await import('../helper.js')
  const config = testConfig({ ROTATE_REFRESH_TOKENS: true, BLACKLIST_AFTER_ROTATION: true, REFRESH_REUSE_DETECTION: true, LOG_LEVEL: 'warn' })
  const server = Fastify({ ...serverOptions(config), logger: { level: 'warn', stream: { write: (line: string) => { lines.push(line) } } } })
  await server.register(fp(appPlugin), { config, database, now: clock.now })
  await server.ready()
  t.teardown(() => server.close())

  const pair = await obtainPair(logged)
  const first = await refresh(pair.refresh, { 'user-agent': 'victim-browser' }, server)
  t.equal(first.statusCode, 200)
  t.same((await refresh(pair.refresh, { 'user-agent': 'thief-script' }, server)).json(), BLACKLISTED)

  const events = lines.map(line => JSON.parse(line)).filter(entry => entry.event === 'refresh_token_reuse')
  t.equal(events.length, 1)
  const [event] = events
  t.equal(event.userId, 1)
  t.equal(event.family, decodeParts(pair.refresh).payload.jti)
  t.equal(event.rotatedBy.userAgent, 'victim-browser')
  t.equal(event.replayedBy.userAgent, 'thief-script')
  t.equal(event.level, 40)
  for (const line of lines) {
    t.notOk(line.includes(pair.refresh), 'the refresh token is never logged')
    t.notOk(line.includes(pair.refresh.split('.')[2]), 'not even its signature')
  }
})

t.test('REFRESH_REUSE_INTERVAL: a replay soon after the rotation is refused without revoking the family', async t => {
  await createUser(app)
  const lenient = await build(t, { ROTATE_REFRESH_TOKENS: true, BLACKLIST_AFTER_ROTATION: true, REFRESH_REUSE_DETECTION: true, REFRESH_REUSE_INTERVAL: 10 }, { clock, database })
  const pair = await obtainPair(lenient)
  const rotated = await refresh(pair.refresh, {}, lenient)
  clock.tick(5)
  t.same((await refresh(pair.refresh, {}, lenient)).json(), BLACKLISTED)
  t.equal((await refresh(rotated.json().refresh, {}, lenient)).statusCode, 200, 'family intact within the interval')
  clock.tick(-5)
})

t.test('REFRESH_REUSE_DETECTION false: a replay is refused and the family lives on', async t => {
  await createUser(app)
  const plain = await build(t, { ROTATE_REFRESH_TOKENS: true, BLACKLIST_AFTER_ROTATION: true, REFRESH_REUSE_DETECTION: false }, { clock, database })
  const pair = await obtainPair(plain)
  const rotated = await refresh(pair.refresh, {}, plain)
  t.same((await refresh(pair.refresh, {}, plain)).json(), BLACKLISTED)
  t.equal((await refresh(rotated.json().refresh, {}, plain)).statusCode, 200)
})

t.test('blacklisting a rotated-away token (a stale logout) revokes its family too', async t => {
  await createUser(app)
  const pair = await obtainPair(app)
  const rotated = await refresh(pair.refresh)
  const res = await app.inject({ method: 'POST', url: '/api/token/blacklist/', payload: { refresh: pair.refresh } })
  t.same(res.json(), BLACKLISTED)
  t.same((await refresh(rotated.json().refresh)).json(), BLACKLISTED)
})

t.test('rotation without BLACKLIST_AFTER_ROTATION keeps the old token valid (simplejwt semantics)', async t => {
  await createUser(app)
  const rotateOnly = await build(t, { ROTATE_REFRESH_TOKENS: true }, { clock, database })
  const pair = await obtainPair(rotateOnly)
  const first = await refresh(pair.refresh, {}, rotateOnly)
  t.equal(first.statusCode, 200)
  t.ok(first.json().refresh)
  t.equal((await refresh(pair.refresh, {}, rotateOnly)).statusCode, 200)
})

t.test('POST /api/token/refresh/: refuses tokens of inactive or deleted users (D2)', async t => {
  await createUser(app)
  const pair = await obtainPair(app)
  await app.simplejwt.users.update('spiderman', { isActive: false })
  const res = await refresh(pair.refresh)
  t.equal(res.statusCode, 401)
  t.same(res.json(), { detail: 'No active account found for the given token.', code: 'no_active_account' })
  t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
})
