// The admin API under the account service's rules (issue 15, item 8): Django's password validators on
// create and set-password (400 in DRF's shape, every failing message), and usernames NFKC-normalised
// so that a look-alike of a taken name is refused and a look-alike login reaches the real account.
import t from 'tap'
import { bearer, build, Clock, createUser, obtainPair, resetDb } from '../helper.js'
import { verifyPassword } from '../../src/domain/passwords.js'

const clock = new Clock(Date.now())
const app = await build(t, {}, { clock })
t.beforeEach(() => resetDb(app))

const SHORT = 'This password is too short. It must contain at least 8 characters.'
const COMMON = 'This password is too common.'
const NUMERIC = 'This password is entirely numeric.'

async function asStaff (on = app) {
  await createUser(on, { username: 'admin', password: 'admin-pass', firstName: 'Nick', lastName: 'Fury', isStaff: true })
  const { access } = await obtainPair(on, 'admin', 'admin-pass')
  return (url: string, payload: Record<string, unknown>) => on.inject({ method: 'POST', url, headers: bearer(access), payload })
}

t.test('create: a weak password is a 400 listing every failing validator; nobody is created', async t => {
  const post = await asStaff()
  const cases: Array<[Record<string, unknown>, string[]]> = [
    [{ username: 'spiderman', password: '1' }, [SHORT, NUMERIC]],
    [{ username: 'spiderman', password: '123456' }, [SHORT, COMMON, NUMERIC]],
    [{ username: 'spiderman', password: 'password' }, [COMMON]],
    [{ username: 'spiderman', password: '12345678901234' }, [NUMERIC]],
    [{ username: 'spiderman', password: 'Spiderman1' }, ['The password is too similar to the username.', COMMON]],
    [{ username: 'spidey', first_name: 'Peter', last_name: 'Parker', password: 'parker1' }, ['The password is too similar to the last name.', SHORT, COMMON]],
    [{ username: 'spidey', email: 'peter@dailybugle.example', password: 'dailybugle' }, ['The password is too similar to the email address.']]
  ]
  for (const [payload, messages] of cases) {
    const res = await post('/api/admin/users/', payload)
    t.equal(res.statusCode, 400, JSON.stringify(payload))
    t.strictSame(res.json(), { password: messages })
  }
  t.equal((await app.simplejwt.users.list()).length, 1, 'only the admin exists')
  t.equal((await post('/api/admin/users/', { username: 'spiderman', password: 'underoos' })).statusCode, 201)
})

t.test('set-password: a weak password is a 400; the old password and the tokens survive', async t => {
  const post = await asStaff()
  const user = await createUser(app)
  const before = await obtainPair(app)
  const res = await post(`/api/admin/users/${user.id}/set-password/`, { password: 'peter' })
  t.equal(res.statusCode, 400)
  t.strictSame(res.json(), { password: ['The password is too similar to the first name.', SHORT, COMMON] })
  const stored = await app.simplejwt.users.findById(user.id)
  t.ok(await verifyPassword(stored?.password ?? '', 'underoos'), 'unchanged')
  t.equal(stored?.tokensValidAfter, null, 'nothing revoked')
  t.equal((await app.inject({ method: 'GET', url: '/api/hello/', headers: bearer(before.access) })).statusCode, 200)
  t.equal((await post(`/api/admin/users/${user.id}/set-password/`, { password: 'with great power' })).statusCode, 200)
})

t.test('create: the username is NFKC-normalised; a look-alike of a taken name is taken', async t => {
  const post = await asStaff()
  const created = await post('/api/admin/users/', { username: 'ｓｐｉｄｅｒｍａｎ', password: 'underoos' })
  t.equal(created.statusCode, 201)
  t.equal(created.json().username, 'spiderman')
  for (const username of ['spiderman', 'ｓｐｉｄｅｒｍａｎ', 'ｓpiderman']) {
    const again = await post('/api/admin/users/', { username, password: 'underoos' })
    t.equal(again.statusCode, 400, username)
    t.strictSame(again.json(), { username: ['A user with that username already exists.'] })
  }
  t.equal((await post('/api/admin/users/', { username: 'ａｄｍｉｎ', password: '' })).statusCode, 400)
  t.strictSame((await post('/api/admin/users/', { username: 'ａｄｍｉｎ', password: '' })).json(),
    { username: ['A user with that username already exists.'], password: ['This field may not be blank.'] }, 'reported with the other field errors')
  const kelvin = await post('/api/admin/users/', { username: '\u212Aelvin', password: 'underoos' })
  t.equal(kelvin.json().username, 'Kelvin', 'the Kelvin sign is K')
})

t.test('login: a look-alike name logs into the account it looks like', async t => {
  await createUser(app)
  const res = await app.inject({ method: 'POST', url: '/api/token/', payload: { username: 'ｓｐｉｄｅｒｍａｎ', password: 'underoos' } })
  t.equal(res.statusCode, 200)
  const wrong = await app.inject({ method: 'POST', url: '/api/token/', payload: { username: 'ｓｐｉｄｅｒｍａｎ', password: 'wrong' } })
  t.equal(wrong.statusCode, 401)
})

t.test('PASSWORD_VALIDATORS=off and PASSWORD_MIN_LENGTH configure the rules', async t => {
  const lax = await build(t, { PASSWORD_VALIDATORS: [] })
  const post = await asStaff(lax)
  t.equal((await post('/api/admin/users/', { username: 'tester', password: '1' })).statusCode, 201)
  const strict = await build(t, { PASSWORD_VALIDATORS: ['MinimumLengthValidator'], PASSWORD_MIN_LENGTH: 20 })
  const postStrict = await asStaff(strict)
  const res = await postStrict('/api/admin/users/', { username: 'tester', password: 'with great power' })
  t.strictSame(res.json(), { password: ['This password is too short. It must contain at least 20 characters.'] })
})
