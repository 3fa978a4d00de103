import t from 'tap'
import { eq } from 'drizzle-orm'
import { storedSigningKey } from '../../src/db/secrets.js'
import { appSecrets } from '../../src/db/schema.js'
import { accessClaims, bearer, build, Clock, createUser, decodeParts, forge, obtainPair, resetDb, testDatabase, TEST_KEY } from '../helper.js'

// Two instances of the service on one database, neither given JWT_SIGNING_KEY, started at the same time.
const clock = new Clock()
const database = await testDatabase(t)
const [first, second] = await Promise.all([
  build(t, { JWT_SIGNING_KEY: undefined }, { database, clock }),
  build(t, { JWT_SIGNING_KEY: undefined }, { database, clock })
])
// Not truncated between tests: that would delete the stored key under the running instances.
await createUser(first)

const INVALID = { detail: 'Token is invalid or expired', code: 'token_not_valid' }

async function storedKeys () {
  return first.simplejwt.db.select().from(appSecrets).where(eq(appSecrets.name, 'jwt_signing_key'))
}

async function verify (app: typeof first, token: string) {
  const res = await app.inject({ method: 'POST', url: '/api/token/verify/', payload: { token } })
  return { statusCode: res.statusCode, body: res.json() }
}

t.test('the generated key is stored once in app_secrets', async t => {
  const rows = await storedKeys()
  t.equal(rows.length, 1)
  t.match(rows[0].value, /^[\w-]{86}$/, '64 random bytes, base64url: long enough for HS512')
  t.not(rows[0].value, TEST_KEY)
  t.type(rows[0].createdAt, Date)
  const all = await first.simplejwt.db.select().from(appSecrets)
  t.equal(all.length, 1, 'nothing else is stored')
})

t.test('a token from one instance passes verify on the other', async t => {
  const fromFirst = await obtainPair(first)
  const fromSecond = await obtainPair(second)
  for (const token of [fromFirst.access, fromFirst.refresh]) {
    t.strictSame(await verify(second, token), { statusCode: 200, body: {} })
  }
  for (const token of [fromSecond.access, fromSecond.refresh]) {
    t.strictSame(await verify(first, token), { statusCode: 200, body: {} })
  }
  const hello = await second.inject({ method: 'GET', url: '/api/hello/', headers: bearer(fromFirst.access) })
  t.equal(hello.statusCode, 200)
  t.strictSame(hello.json(), { msg: 'Hello Peter Parker' })
  const refresh = await first.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh: fromSecond.refresh } })
  t.equal(refresh.statusCode, 200)
  t.equal(decodeParts(fromFirst.access).header.alg, 'HS256')
})

t.test('the tokens are signed with the stored key', async t => {
  const [row] = await storedKeys()
  const forged = forge(accessClaims(clock), { key: row.value })
  t.strictSame(await verify(first, forged), { statusCode: 200, body: {} })
  t.strictSame(await verify(second, forged), { statusCode: 200, body: {} })
})

t.test('a token signed with another key (TEST_KEY) is refused', async t => {
  const forged = forge(accessClaims(clock))
  t.strictSame(await verify(first, forged), { statusCode: 401, body: INVALID })
  t.strictSame(await verify(second, forged), { statusCode: 401, body: INVALID })
  const hello = await first.inject({ method: 'GET', url: '/api/hello/', headers: bearer(forged) })
  t.equal(hello.statusCode, 401)
  t.strictSame(hello.json(), {
    detail: 'Given token not valid for any token type',
    code: 'token_not_valid',
    messages: [{ token_class: 'AccessToken', token_type: 'access', message: 'Token is invalid or expired' }]
  })
})

t.test('storedSigningKey: the first writer wins, everybody reads the winner', async t => {
  const [row] = await storedKeys()
  const keys = await Promise.all([storedSigningKey(first.simplejwt.db, 'HS256'), storedSigningKey(second.simplejwt.db, 'HS256'), storedSigningKey(first.simplejwt.db, 'HS256')])
  t.strictSame(keys, [row.value, row.value, row.value])
  t.equal((await storedKeys()).length, 1)
})

t.test('an instance started later on the same database gets the same key', async t => {
  const third = await build(t, { JWT_SIGNING_KEY: undefined }, { database, clock })
  const { access } = await obtainPair(third)
  t.strictSame(await verify(first, access), { statusCode: 200, body: {} })
  t.equal((await storedKeys()).length, 1)
})

t.test('with JWT_SIGNING_KEY set, nothing is generated or stored', async t => {
  await resetDb(first)
  const configured = await build(t, { JWT_SIGNING_KEY: TEST_KEY }, { database, clock })
  t.strictSame(await first.simplejwt.db.select().from(appSecrets), [])
  t.strictSame(await verify(configured, forge(accessClaims(clock))), { statusCode: 200, body: {} })
})
