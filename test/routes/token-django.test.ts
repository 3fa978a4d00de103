// Moving off Django: POST /api/token/ with every Django hash (rehashed once), and simplejwt's own tokens at hello, verify, refresh and blacklist
import { createHmac } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import appPlugin, { serverOptions } from '../../src/app.js'
import { parseDumpdata } from '../../src/domain/dumpdata.js'
import { hardenHash, verifyPassword } from '../../src/domain/passwords.js'
import { bearer, build, Clock, decodeParts, FIXED_MS, resetDb, TEST_KEY, testConfig, testDatabase, type TestLike } from '../helper.js'

interface Vector { hasher: string, password: string, encoded: string, wrong_password: string }
const fixture = async (name: string) => JSON.parse(await readFile(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'))
const vectors = [...(await fixture('django-hashes.json')).vectors, ...(await fixture('django-argon2i.json')).vectors] as Vector[]
const dumpdata = await readFile(new URL('../fixtures/dumpdata-auth-user.json', import.meta.url), 'utf8')

const clock = new Clock()
const database = await testDatabase(t)
const app = await build(t, {}, { clock, database })
const rotating = await build(t, { ROTATE_REFRESH_TOKENS: true, BLACKLIST_AFTER_ROTATION: true, REFRESH_REUSE_DETECTION: true }, { clock, database })
t.beforeEach(async () => {
  clock.ms = FIXED_MS
  await resetDb(app)
})

const CURRENT = /^argon2\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/
const NO_ACCOUNT = { detail: 'No active account found with the given credentials' }
const BLACKLISTED = { detail: 'Token is blacklisted', code: 'token_not_valid' }

function login (server: FastifyInstance, username: string, password: string) {
  return server.inject({ method: 'POST', url: '/api/token/', payload: { username, password } })
}

const post = (server: FastifyInstance, url: string, payload: Record<string, unknown>) => server.inject({ method: 'POST', url, payload })

/** A user whose password column holds `encoded` verbatim, as the import stores it. */
async function djangoUser (username: string, encoded: string, isActive = true) {
  return app.simplejwt.users.create({ username, password: encoded, firstName: 'Imported', lastName: username, isActive })
}

async function storedHash (username: string): Promise<string> {
  return (await app.simplejwt.users.findByUsername(username))?.password as string
}

/** An app on the same database whose warnings land in `lines`. */
async function loggingApp (t: TestLike, lines: string[]): Promise<FastifyInstance> {
  const config = testConfig({ LOG_LEVEL: 'warn' })
  const server = Fastify({ ...serverOptions(config), logger: { level: 'warn', stream: { write: (line: string) => { lines.push(line) } } } })
  await server.register(fp(appPlugin), { config, database, now: clock.now })
  await server.ready()
  t.teardown(() => server.close())
  return server
}

t.test('POST /api/token/: every Django hash logs in, is rehashed to argon2id once, and keeps working', async t => {
  const usable = vectors.filter(v => v.hasher !== 'unusable')
  t.equal(usable.length, 57)
  for (const [i, v] of usable.entries()) {
    const username = `${v.hasher}-${i}`
    await djangoUser(username, v.encoded)
    const label = `${v.hasher} ${JSON.stringify(v.password)}`

    const wrong = await login(app, username, v.wrong_password)
    t.same([wrong.statusCode, wrong.json()], [401, NO_ACCOUNT], `${label}: the wrong password fails`)
    t.equal(await storedHash(username), v.encoded, 'a failed login changes nothing')

    // The route strips the password as simplejwt does; these vectors' own spaces are part of them.
    if (v.password !== v.password.trim()) continue
    const first = await login(app, username, v.password)
    t.equal(first.statusCode, 200, `${label} logs in`)
    const rehashed = await storedHash(username)
    t.match(rehashed, CURRENT, 'and is now our argon2id')
    t.equal(await verifyPassword(rehashed, v.password), true)

    const second = await login(app, username, v.password)
    t.equal(second.statusCode, 200, 'logs in again')
    t.equal(await storedHash(username), rehashed, 'without a second rehash')
    t.same([(await login(app, username, v.wrong_password)).statusCode], [401], 'the wrong password still fails')
  }
})

t.test('POST /api/token/: Django\'s "  spaces  " passwords could never be typed through simplejwt either', async t => {
  const v = vectors.find(v => v.password === '  spaces  ' && v.hasher === 'pbkdf2_sha256') as Vector
  await djangoUser('spacey', v.encoded)
  t.equal((await login(app, 'spacey', v.password)).statusCode, 401, 'simplejwt strips the password before checking it')
  t.equal(await storedHash('spacey'), v.encoded)
})

t.test('POST /api/token/: no rehash for an inactive user, nor for an unusable password', async t => {
  const v = vectors.find(v => v.hasher === 'pbkdf2_sha256') as Vector
  await djangoUser('ghost', v.encoded, false)
  t.same((await login(app, 'ghost', v.password)).json(), NO_ACCOUNT)
  t.equal(await storedHash('ghost'), v.encoded, 'the right password of an inactive user rehashes nothing')

  const unusable = vectors.find(v => v.hasher === 'unusable') as Vector
  await djangoUser('nopass', unusable.encoded)
  for (const password of ['anything', unusable.encoded, unusable.encoded.slice(1)]) {
    t.same((await login(app, 'nopass', password)).json(), NO_ACCOUNT)
  }
  t.equal(await storedHash('nopass'), unusable.encoded)
})

t.test('POST /api/token/: a --harden wrapper logs in through both layers and is then rehashed plainly', async t => {
  for (const hasher of ['sha1', 'md5', 'unsalted_sha1', 'unsalted_md5']) {
    const v = vectors.find(v => v.hasher === hasher) as Vector
    const hardened = await hardenHash(v.encoded) as string
    await djangoUser(hasher, hardened)
    t.equal((await login(app, hasher, v.wrong_password)).statusCode, 401)
    t.equal(await storedHash(hasher), hardened)
    t.equal((await login(app, hasher, v.password)).statusCode, 200, `${hasher} via ${hardened.split('$')[0]}`)
    t.match(await storedHash(hasher), CURRENT)
  }
})

t.test('rehashPassword loses to a password changed meanwhile (compare-and-set)', async t => {
  const v = vectors.find(v => v.hasher === 'md5') as Vector
  const user = await djangoUser('racer', v.encoded)
  await app.simplejwt.users.update('racer', { password: 'argon2$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdG5ld3NhbHQ$bmV3aGFzaG5ld2hhc2huZXdoYXNobmV3aGFzaG5ldw' })
  t.equal(await app.simplejwt.users.rehashPassword(user.id, v.encoded, 'argon2$rehash-of-the-old-password'), false)
  t.match(await storedHash('racer'), /bmV3c2FsdG5ld3NhbHQ/, 'the newer password stays')
  t.equal(await app.simplejwt.users.rehashPassword(user.id, await storedHash('racer'), 'argon2$replaced'), true)
  t.equal(await storedHash('racer'), 'argon2$replaced')
})

t.test('POST /api/token/: a hash over the caps never matches and is logged with the user id', async t => {
  const lines: string[] = []
  const logged = await loggingApp(t, lines)
  const v = vectors.find(v => v.hasher === 'pbkdf2_sha256') as Vector
  const hostile = v.encoded.replace('$260000$', '$2000000000$')
  const user = await djangoUser('hostile', hostile)
  const started = Date.now()
  const res = await login(logged, 'hostile', v.password)
  t.same([res.statusCode, res.json()], [401, NO_ACCOUNT])
  t.ok(Date.now() - started < 5000, 'two billion iterations were not attempted')
  const events = lines.map(line => JSON.parse(line)).filter(entry => entry.event === 'password_hash_unverifiable')
  t.equal(events.length, 1)
  t.match(events[0], { level: 40, userId: user.id, problem: 'over_caps', algorithm: 'pbkdf2_sha256', reason: /2000000000 iterations is over the cap/ })
  t.notOk(lines.some(line => line.includes(hostile.split('$')[3])), 'the hash is not logged')
  t.notOk(lines.some(line => line.includes(v.password)), 'nor the password')
  t.equal(await storedHash('hostile'), hostile)
})

// ---------------------------------------------------------------------------------------------
// Tokens minted by the Django deployment, with the same key, keep working after the cutover.

const b64 = (text: string) => Buffer.from(text).toString('base64url')

/** Signs header.payload with the shared key, as PyJWT does (HS256 over the ASCII of both segments). */
function sign (unsigned: string): string {
  return `${unsigned}.${createHmac('sha256', TEST_KEY).update(unsigned).digest('base64url')}`
}

/**
 * A token exactly as simplejwt 5.2.2 writes it: header `{"alg":"HS256","typ":"JWT"}`, compact payload
 * with the claims in its order (spec/simplejwt-wire.md "Tokens"), jti a uuid4 hex.
 */
function simplejwtToken (type: 'access' | 'refresh', iat: number, jti: string, userId: number): string {
  const lifetime = type === 'access' ? 300 : 86400
  return sign(`${b64('{"alg":"HS256","typ":"JWT"}')}.${b64(`{"token_type":"${type}","exp":${iat + lifetime},"iat":${iat},"jti":"${jti}","user_id":${userId}}`)}`)
}

// The pair the reference Django server answered in transcripts.md §A.1, header and payload verbatim;
// only the signature is remade, with the key this deployment shares with it.
const TRANSCRIPT_REFRESH = sign('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCIsImV4cCI6MTc5NjA3NDg4OSwiaWF0IjoxNzk1OTg4NDg5LCJqdGkiOiJhNzBiYTRmZjVkMmE0MDA4ODBlNTQyMjM5MjE1NDY5MCIsInVzZXJfaWQiOjF9')
const TRANSCRIPT_ACCESS = sign('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjoxNzk1OTg4Nzg5LCJpYXQiOjE3OTU5ODg0ODksImp0aSI6IjE0ODhiN2JiMmZjNTQyN2NhOGNhMGUzNDk1YTIzZWIwIiwidXNlcl9pZCI6MX0')
const ISSUED = 1795988489

/**
 * The dump's users, joined before the transcript's tokens were issued: the dump was taken from a later
 * run of the same deployment (its date_joined is after ISSUED), and a token from before its user joined
 * is refused (an earlier user of the same id: docs/security.md).
 */
async function importDump () {
  const users = parseDumpdata(dumpdata).map(user => ({ ...user, dateJoined: new Date((ISSUED - 3600) * 1000) }))
  return app.simplejwt.users.importUsers(users, { onConflict: 'skip', dryRun: false })
}

t.test('the transcript\'s tokens are in the format simplejwtToken writes', async t => {
  t.equal(TRANSCRIPT_ACCESS, simplejwtToken('access', ISSUED, '1488b7bb2fc5427ca8ca0e3495a23eb0', 1))
  t.equal(TRANSCRIPT_REFRESH, simplejwtToken('refresh', ISSUED, 'a70ba4ff5d2a400880e5422392154690', 1))
  t.ok(ISSUED * 1000 < FIXED_MS && FIXED_MS < (ISSUED + 300) * 1000, 'the access token is unexpired at the test clock')
})

t.test('GET /api/hello/ and POST /api/token/verify/: a Django access token names the imported user', async t => {
  t.match(await importDump(), { imported: 8 })
  const hello = await app.inject({ method: 'GET', url: '/api/hello/', headers: bearer(TRANSCRIPT_ACCESS) })
  t.same([hello.statusCode, hello.json()], [200, { msg: 'Hello Peter Parker' }])
  const unicode = await app.inject({ method: 'GET', url: '/api/hello/', headers: bearer(simplejwtToken('access', ISSUED, '5f1c3a0e8b2d4c6e9a7b1d3f5e7a9c0b', 8)) })
  t.same([unicode.statusCode, unicode.json()], [200, { msg: 'Hello Zoë Ångström' }], 'pk 8 in the dump is user 8 here')
  for (const token of [TRANSCRIPT_ACCESS, TRANSCRIPT_REFRESH]) {
    const verified = await post(app, '/api/token/verify/', { token })
    t.same([verified.statusCode, verified.json()], [200, {}])
  }
  const inactive = await app.inject({ method: 'GET', url: '/api/hello/', headers: bearer(simplejwtToken('access', ISSUED, '0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a', 2)) })
  t.equal(inactive.statusCode, 401, 'ghost is inactive in Django, and here')
  clock.tick(300)
  t.equal((await app.inject({ method: 'GET', url: '/api/hello/', headers: bearer(TRANSCRIPT_ACCESS) })).statusCode, 401, 'and expires when Django said')
})

t.test('POST /api/token/refresh/: a Django refresh token mints access tokens', async t => {
  await importDump()
  const res = await post(app, '/api/token/refresh/', { refresh: TRANSCRIPT_REFRESH })
  t.equal(res.statusCode, 200)
  const { access } = res.json()
  t.same(Object.keys(res.json()), ['access'])
  const { payload } = decodeParts(access)
  t.match(payload, { token_type: 'access', iat: ISSUED, user_id: 1, exp: clock.seconds + 300 }, 'iat copied from the refresh token, as simplejwt does')
  const hello = await app.inject({ method: 'GET', url: '/api/hello/', headers: bearer(access) })
  t.same(hello.json(), { msg: 'Hello Peter Parker' })
})

t.test('POST /api/token/blacklist/: a Django refresh token can be blacklisted, and is then refused', async t => {
  await importDump()
  const first = await post(app, '/api/token/blacklist/', { refresh: TRANSCRIPT_REFRESH })
  t.same([first.statusCode, first.json()], [200, {}])
  t.same((await post(app, '/api/token/blacklist/', { refresh: TRANSCRIPT_REFRESH })).json(), BLACKLISTED)
  t.same((await post(app, '/api/token/refresh/', { refresh: TRANSCRIPT_REFRESH })).json(), BLACKLISTED)
  t.same((await post(app, '/api/token/verify/', { token: TRANSCRIPT_REFRESH })).json(), BLACKLISTED)
})

t.test('POST /api/token/refresh/ under rotation: a Django refresh token rotates once, and its replay is refused', async t => {
  await importDump()
  const res = await post(rotating, '/api/token/refresh/', { refresh: TRANSCRIPT_REFRESH })
  t.equal(res.statusCode, 200)
  t.same(Object.keys(res.json()).sort(), ['access', 'refresh'])
  t.same((await post(rotating, '/api/token/refresh/', { refresh: TRANSCRIPT_REFRESH })).json(), BLACKLISTED)
})

t.test('a Django user logs in with the password Django knew, and the new tokens name the same id', async t => {
  await importDump()
  const res = await login(app, 'spiderman', 'underoos')
  t.equal(res.statusCode, 200)
  t.equal(decodeParts(res.json().access).payload.user_id, decodeParts(TRANSCRIPT_ACCESS).payload.user_id)
})
