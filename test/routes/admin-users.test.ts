// /api/admin/users/: user administration for staff (issue 9, item 5)
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { accessClaims, bearer, build, Clock, createUser, forge, obtainPair, resetDb, testDatabase } from '../helper.js'
import { verifyPassword } from '../../src/domain/passwords.js'
import { activeFor } from '../helpers/db.js'

// Real time: revocation compares the cut-off with tokens' iat, and a login right after must still work.
const clock = new Clock(Date.now())
const database = await testDatabase(t)
const app = await build(t, {}, { clock, database })
// The same service with AUTH_STATELESS on the same database: the admin routes still load the user.
const statelessApp = await build(t, { AUTH_STATELESS: true }, { clock, database })
t.beforeEach(() => resetDb(app))

const FORBIDDEN = { detail: 'You do not have permission to perform this action.' }
const NOT_FOUND = { detail: 'Not found.' }
const REVOKED = {
  detail: 'Given token not valid for any token type',
  code: 'token_not_valid',
  messages: [{ token_class: 'AccessToken', token_type: 'access', message: 'Token is blacklisted' }]
}
const USER_KEYS = ['id', 'username', 'first_name', 'last_name', 'email', 'is_active', 'is_staff', 'is_superuser', 'date_joined', 'last_login'].sort()

/** A staff user "admin" (not a superuser) and its access token. */
async function staff (): Promise<string> {
  await createUser(app, { username: 'admin', password: 'admin-pass', firstName: 'Nick', lastName: 'Fury', isStaff: true })
  return (await obtainPair(app, 'admin', 'admin-pass')).access
}

/** A superuser "root" (staff too) and its access token. */
async function superuser (): Promise<string> {
  await createUser(app, { username: 'root', password: 'root-pass', firstName: 'Maria', lastName: 'Hill', isStaff: true, isSuperuser: true })
  return (await obtainPair(app, 'root', 'root-pass')).access
}

const as = (access: string, server: FastifyInstance = app) => ({
  get: (url: string) => server.inject({ method: 'GET', url, headers: bearer(access) }),
  post: (url: string, payload?: unknown) => server.inject({ method: 'POST', url, headers: bearer(access), ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) }),
  patch: (url: string, payload: unknown) => server.inject({ method: 'PATCH', url, headers: bearer(access), payload: payload as Record<string, unknown> })
})
const hello = (access: string) => app.inject({ method: 'GET', url: '/api/hello/', headers: bearer(access) })

const ROUTES: Array<[string, string, Record<string, unknown>?]> = [
  ['GET', '/api/admin/users/'],
  ['POST', '/api/admin/users/', { username: 'x', password: 'y' }],
  ['GET', '/api/admin/users/1/'],
  ['PATCH', '/api/admin/users/1/', { first_name: 'x' }],
  ['POST', '/api/admin/users/1/set-password/', { password: 'y' }],
  ['POST', '/api/admin/users/1/deactivate/'],
  ['POST', '/api/admin/users/1/revoke-all/']
]

t.test('every route: 401 without a token, 403 for a user who is not staff', async t => {
  await createUser(app)
  const { access } = await obtainPair(app)
  for (const [method, url, payload] of ROUTES) {
    const none = await app.inject({ method: method as 'GET', url, payload })
    t.equal(none.statusCode, 401, `${method} ${url} without a token`)
    t.same(none.json(), { detail: 'Authentication credentials were not provided.' })
    t.equal(none.headers['www-authenticate'], 'Bearer realm="api"')
    const denied = await app.inject({ method: method as 'GET', url, payload, headers: bearer(access) })
    t.equal(denied.statusCode, 403, `${method} ${url} as a non-staff user`)
    t.same(denied.json(), FORBIDDEN)
  }
  t.equal((await app.simplejwt.users.findById(1))?.firstName, 'Peter', 'nothing changed')
})

t.test('a staff user demoted meanwhile is refused at once', async t => {
  const access = await staff()
  t.equal((await as(access).get('/api/admin/users/')).statusCode, 200)
  await app.simplejwt.users.update('admin', { isStaff: false })
  t.same((await as(access).get('/api/admin/users/')).json(), FORBIDDEN)
})

t.test('create, read, list: the password hash is never returned', async t => {
  const admin = as(await staff())
  const created = await admin.post('/api/admin/users/', {
    username: ' spiderman ', password: 'underoos', first_name: 'Peter', last_name: 'Parker', email: 'peter@example.com', is_staff: 'false'
  })
  t.equal(created.statusCode, 201)
  const user = created.json()
  t.same(Object.keys(user).sort(), USER_KEYS)
  t.match(user, { id: 2, username: 'spiderman', first_name: 'Peter', last_name: 'Parker', email: 'peter@example.com', is_active: true, is_staff: false, is_superuser: false, last_login: null })
  t.equal(user.date_joined, new Date(clock.ms).toISOString())
  t.notMatch(created.body, /argon2|password/)

  const stored = await app.simplejwt.users.findById(2)
  t.match(stored?.password, /^argon2\$argon2id\$/, 'stored hashed')
  t.ok(await verifyPassword(stored?.password ?? '', 'underoos'))
  t.same((await obtainPair(app)).access.split('.').length, 3, 'the new user can log in')

  const read = await admin.get('/api/admin/users/2/')
  t.equal(read.statusCode, 200)
  t.same(read.json(), { ...user, last_login: read.json().last_login })
  t.notMatch(read.body, /argon2/)
  t.equal((await admin.get('/api/admin/users/2')).statusCode, 200, 'without the trailing slash too')

  const list = await admin.get('/api/admin/users/')
  t.equal(list.statusCode, 200)
  t.same(list.json().count, 2)
  t.same(list.json().results.map((u: { username: string }) => u.username), ['admin', 'spiderman'])
  t.notMatch(list.body, /argon2/)
})

t.test('create: form bodies, defaults and flags (a superuser: staff may not set is_superuser)', async t => {
  const access = await superuser()
  const res = await app.inject({
    method: 'POST',
    url: '/api/admin/users/',
    headers: { ...bearer(access), 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'username=mj&password=tiger-stripes-9&is_superuser=1&is_active=off'
  })
  t.equal(res.statusCode, 201)
  t.match(res.json(), { username: 'mj', first_name: '', email: '', is_active: false, is_staff: false, is_superuser: true })
})

t.test('create: validation errors in DRF\'s shape', async t => {
  const admin = as(await staff())
  const cases: Array<[unknown, Record<string, string[]>]> = [
    [{}, { username: ['This field is required.'], password: ['This field is required.'] }],
    [{ username: 'admin', password: 'x' }, { username: ['A user with that username already exists.'] }],
    [{ username: 'admin', password: '' }, { username: ['A user with that username already exists.'], password: ['This field may not be blank.'] }],
    [{ username: 'peter parker', password: 'x' }, { username: ['Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.'] }],
    [{ username: 'x'.repeat(151), password: 'x' }, { username: ['Ensure this field has no more than 150 characters.'] }],
    [{ username: 'ok', password: null }, { password: ['This field may not be null.'] }],
    [{ username: 'ok', password: 'x', email: 'not-an-email' }, { email: ['Enter a valid email address.'] }],
    [{ username: 'ok', password: 'x', is_staff: 'maybe' }, { is_staff: ['Must be a valid boolean.'] }],
    [{ username: 'ok', password: 'x', first_name: true }, { first_name: ['Not a valid string.'] }],
    [['admin'], { non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] }]
  ]
  for (const [payload, errors] of cases) {
    const res = await admin.post('/api/admin/users/', payload)
    t.equal(res.statusCode, 400, JSON.stringify(payload).slice(0, 60))
    t.same(res.json(), errors)
  }
  t.equal((await app.simplejwt.users.list()).length, 1, 'nobody was created')
  // A username differing only in case is another user, as in Django.
  t.equal((await admin.post('/api/admin/users/', { username: 'Admin', password: 'shield-helicarrier' })).statusCode, 201)
})

t.test('read, update, act on an unknown id: 404', async t => {
  const admin = as(await staff())
  for (const id of ['99', '0', 'abc', '99999999999', '1.0']) {
    for (const res of [
      await admin.get(`/api/admin/users/${id}/`),
      await admin.patch(`/api/admin/users/${id}/`, { first_name: 'x' }),
      await admin.post(`/api/admin/users/${id}/set-password/`, { password: 'x' }),
      await admin.post(`/api/admin/users/${id}/deactivate/`),
      await admin.post(`/api/admin/users/${id}/revoke-all/`)
    ]) {
      t.equal(res.statusCode, 404, `${res.raw.req.method} id ${id}`)
      t.same(res.json(), NOT_FOUND)
    }
  }
})

t.test('PATCH: names, email and flags; the username and password are not changed (a superuser: staff may not grant is_staff)', async t => {
  const admin = as(await superuser())
  const user = await createUser(app)
  const before = (await app.simplejwt.users.findById(user.id))?.password
  const res = await admin.patch(`/api/admin/users/${user.id}/`, { first_name: 'Miles', last_name: '', email: 'miles@example.com', is_staff: true, username: 'miles', password: 'nope' })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { id: user.id, username: 'spiderman', first_name: 'Miles', last_name: '', email: 'miles@example.com', is_staff: true, is_active: true })
  t.equal((await app.simplejwt.users.findById(user.id))?.password, before)

  // The user cache sees the change at once: the greeting uses the new name.
  const { access } = await obtainPair(app)
  t.same((await hello(access)).json(), { msg: 'Hello Miles ' })
  await admin.patch(`/api/admin/users/${user.id}/`, { first_name: 'Peter', last_name: 'Parker' })
  t.same((await hello(access)).json(), { msg: 'Hello Peter Parker' })

  const empty = await admin.patch(`/api/admin/users/${user.id}/`, {})
  t.equal(empty.statusCode, 200, 'an empty PATCH changes nothing')
  t.equal(empty.json().first_name, 'Peter')

  const bad = await admin.patch(`/api/admin/users/${user.id}/`, { is_active: null, email: 'x@', last_name: 'y'.repeat(151) })
  t.equal(bad.statusCode, 400)
  t.same(bad.json(), { last_name: ['Ensure this field has no more than 150 characters.'], email: ['Enter a valid email address.'], is_active: ['This field may not be null.'] })
})

t.test('PATCH is_active false revokes every token, as deactivate does: reactivating brings none back (issue 14)', async t => {
  const admin = as(await staff())
  const user = await createUser(app)
  const { access, refresh } = await obtainPair(app)
  clock.tick(1)
  await admin.patch(`/api/admin/users/${user.id}/`, { is_active: false })
  t.same((await hello(access)).json(), { detail: 'User is inactive', code: 'user_inactive' })
  await admin.patch(`/api/admin/users/${user.id}/`, { is_active: 'true' })
  t.same((await hello(access)).json(), REVOKED, 'the old access token stays revoked after reactivation')
  const refreshed = await app.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh } })
  t.same(refreshed.json(), { detail: 'Token is blacklisted', code: 'token_not_valid' }, 'and so does the old refresh token')
  clock.tick(1)
  t.same((await hello((await obtainPair(app)).access)).json(), { msg: 'Hello Peter Parker' }, 'a new login works')
})

t.test('set-password: the new password works, the old one and every earlier token do not', async t => {
  const admin = as(await staff())
  const user = await createUser(app)
  const pair = await obtainPair(app)
  clock.tick(1)
  const res = await admin.post(`/api/admin/users/${user.id}/set-password/`, { password: 'with great power' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), {})
  t.same((await hello(pair.access)).json(), REVOKED)
  const refresh = await app.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh: pair.refresh } })
  t.same(refresh.json(), { detail: 'Token is blacklisted', code: 'token_not_valid' })
  await t.rejects(obtainPair(app), /401/)
  // A login in the revocation's own second is cut off with it: the next second, it works.
  clock.tick(1)
  const fresh = await obtainPair(app, 'spiderman', 'with great power')
  t.same((await hello(fresh.access)).json(), { msg: 'Hello Peter Parker' })

  for (const [payload, errors] of [
    [{}, { password: ['This field is required.'] }],
    [{ password: '  ' }, { password: ['This field may not be blank.'] }],
    [{ password: 'x'.repeat(4097) }, { password: ['Ensure this field has no more than 4096 characters.'] }]
  ] as const) {
    const bad = await admin.post(`/api/admin/users/${user.id}/set-password/`, payload)
    t.equal(bad.statusCode, 400)
    t.same(bad.json(), errors)
  }
})

t.test('deactivate: is_active false, tokens revoked, login refused', async t => {
  const admin = as(await staff())
  const user = await createUser(app)
  const pair = await obtainPair(app)
  clock.tick(1)
  const res = await admin.post(`/api/admin/users/${user.id}/deactivate/`)
  t.equal(res.statusCode, 200)
  t.match(res.json(), { id: user.id, username: 'spiderman', is_active: false })
  t.equal((await hello(pair.access)).statusCode, 401)
  t.same(await activeFor(app.simplejwt.db, user.id), [], 'every refresh token is blacklisted')
  await t.rejects(obtainPair(app), /401/)

  // Reactivated: old tokens stay revoked, a new login works.
  await admin.patch(`/api/admin/users/${user.id}/`, { is_active: true })
  t.same((await hello(pair.access)).json(), REVOKED)
  clock.tick(1)
  t.equal((await hello((await obtainPair(app)).access)).statusCode, 200)
})

t.test('revoke-all: the user\'s tokens stop working, a new login works', async t => {
  const adminAccess = await staff()
  const admin = as(adminAccess)
  const user = await createUser(app)
  const laptop = await obtainPair(app)
  const phone = await obtainPair(app)
  clock.tick(1)
  const res = await admin.post(`/api/admin/users/${user.id}/revoke-all/`)
  t.equal(res.statusCode, 200)
  t.same(res.json(), {})
  for (const pair of [laptop, phone]) t.same((await hello(pair.access)).json(), REVOKED)
  t.same(await activeFor(app.simplejwt.db, user.id), [])
  clock.tick(1)
  t.equal((await hello((await obtainPair(app)).access)).statusCode, 200)
  t.equal((await admin.get('/api/admin/users/')).statusCode, 200, 'the admin\'s own token is untouched')
})

t.test('list: pagination in DRF\'s shape', async t => {
  const access = await staff()
  for (let i = 1; i <= 24; i++) await createUser(app, { username: `user${String(i).padStart(2, '0')}` })
  const admin = as(access)

  const first = await admin.get('/api/admin/users/')
  t.equal(first.statusCode, 200)
  t.same(Object.keys(first.json()), ['count', 'next', 'previous', 'results'])
  t.equal(first.json().count, 25)
  t.equal(first.json().results.length, 20)
  // Relative links, not DRF's absolute ones built from the Host header (issue 15, finding 8).
  t.equal(first.json().next, '/api/admin/users/?page=2')
  t.equal(first.json().previous, null)

  const second = await admin.get('/api/admin/users/?page=2')
  t.equal(second.json().results.length, 5)
  t.equal(second.json().next, null)
  t.equal(second.json().previous, '/api/admin/users/', 'page 1 is the URL without ?page=')

  const small = await admin.get('/api/admin/users/?page_size=10&page=2&search=user')
  t.equal(small.json().count, 24)
  t.same(small.json().results.map((u: { username: string }) => u.username), ['user11', 'user12', 'user13', 'user14', 'user15', 'user16', 'user17', 'user18', 'user19', 'user20'])
  t.equal(small.json().next, '/api/admin/users/?page=3&page_size=10&search=user', 'the other parameters are kept')
  t.equal(small.json().previous, '/api/admin/users/?page_size=10&search=user')

  t.equal((await admin.get('/api/admin/users/?page=last&page_size=10')).json().results.length, 5)
  t.equal((await admin.get('/api/admin/users/?page_size=1000')).json().results.length, 25, 'capped at 100, and there are 25')
  t.equal((await admin.get('/api/admin/users/?page_size=abc')).json().results.length, 20, 'an invalid page size means the default')
  t.equal((await admin.get('/api/admin/users/?page_size=0')).json().results.length, 20)
  for (let i = 0; i < 80; i++) await createUser(app, { username: `more${i}` })
  t.equal((await admin.get('/api/admin/users/?page_size=1000')).json().results.length, 100, 'at most 100 a page')

  for (const page of ['0', '99', 'abc', '1.5', '-1']) {
    const res = await admin.get(`/api/admin/users/?page=${page}`)
    t.equal(res.statusCode, 404, `page ${page}`)
    t.same(res.json(), { detail: 'Invalid page.' })
  }
})

t.test('list: the links never name a host, whatever the Host header says (issue 15, finding 8)', async t => {
  const access = await staff()
  for (let i = 1; i <= 4; i++) await createUser(app, { username: `user${i}` })
  for (const headers of [{ host: 'evil.example' }, { host: 'evil.example:8443', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' }]) {
    const res = await app.inject({ method: 'GET', url: '/api/admin/users/?page=2&page_size=2', headers: { ...bearer(access), ...headers } })
    t.equal(res.statusCode, 200)
    t.equal(res.json().next, '/api/admin/users/?page=3&page_size=2')
    t.equal(res.json().previous, '/api/admin/users/?page_size=2')
    t.notMatch(res.body, /evil/)
  }
})

t.test('list: search by username, ignoring case; every term must match', async t => {
  const admin = as(await staff())
  for (const username of ['spiderman', 'SpiderGwen', 'ironman', 'peter_100%']) await createUser(app, { username })
  const names = async (query: string) => (await admin.get(`/api/admin/users/?search=${encodeURIComponent(query)}`)).json().results.map((u: { username: string }) => u.username)
  t.same(await names('spider'), ['spiderman', 'SpiderGwen'])
  t.same(await names('MAN'), ['spiderman', 'ironman'])
  t.same(await names('spider man'), ['spiderman'])
  t.same(await names('spider,gwen'), ['SpiderGwen'])
  t.same(await names('%'), ['peter_100%'], 'LIKE wildcards match literally')
  t.same(await names('_'), ['peter_100%'])
  t.same(await names('nobody'), [])
  const empty = await admin.get('/api/admin/users/?search=nobody')
  t.same(empty.json(), { count: 0, next: null, previous: null, results: [] }, 'an empty first page is still a page')
  t.equal((await admin.get('/api/admin/users/?search=')).json().count, 5)
})

t.test('the routes are documented in OpenAPI under the admin tag', async t => {
  const doc = app.swagger() as unknown as { paths: Record<string, Record<string, { operationId: string, tags: string[], security: unknown[], responses: Record<string, unknown> }>> }
  const expected: Array<[string, string, string]> = [
    ['/api/admin/users/', 'get', 'listUsers'],
    ['/api/admin/users/', 'post', 'createUser'],
    ['/api/admin/users/{id}/', 'get', 'getUser'],
    ['/api/admin/users/{id}/', 'patch', 'updateUser'],
    ['/api/admin/users/{id}/set-password/', 'post', 'setUserPassword'],
    ['/api/admin/users/{id}/deactivate/', 'post', 'deactivateUser'],
    ['/api/admin/users/{id}/revoke-all/', 'post', 'revokeUserTokens']
  ]
  for (const [path, method, id] of expected) {
    const operation = doc.paths[path]?.[method]
    t.equal(operation?.operationId, id, `${method} ${path}`)
    t.same(operation?.tags, ['admin'])
    t.same(operation?.security, [{ bearerAuth: [] }])
    for (const status of ['401', '403', '503']) t.ok(operation?.responses[status], `${id} documents ${status}`)
  }
})

t.test('staff who are not superusers: no superuser powers, and nothing done to a superuser (issue 15, finding 5)', async t => {
  const admin = as(await staff())
  const rootAccess = await superuser()
  const user = await createUser(app)
  const [adminId, rootId] = [1, 2]
  const denied = async (res: { statusCode: number, json: () => unknown }, what: string) => {
    t.equal(res.statusCode, 403, what)
    t.same(res.json(), FORBIDDEN)
  }

  await denied(await admin.patch(`/api/admin/users/${adminId}/`, { is_superuser: true }), 'making oneself superuser')
  await denied(await admin.patch(`/api/admin/users/${adminId}/`, { is_staff: false }), 'revoking one\'s own staff status')
  await denied(await admin.patch(`/api/admin/users/${user.id}/`, { is_staff: true }), 'granting staff status')
  await denied(await admin.patch(`/api/admin/users/${user.id}/`, { is_superuser: true, first_name: 'Miles' }), 'granting superuser status, whatever else changes')
  await denied(await admin.post('/api/admin/users/', { username: 'thanos', password: 'snap', is_superuser: true }), 'creating a superuser')
  await denied(await admin.post('/api/admin/users/', { username: 'thanos', password: 'snap', is_staff: 'true' }), 'creating a staff user')
  await denied(await admin.patch(`/api/admin/users/${rootId}/`, { first_name: 'Hydra' }), 'updating a superuser')
  await denied(await admin.patch(`/api/admin/users/${rootId}/`, { is_superuser: false }), 'revoking a superuser')
  await denied(await admin.post(`/api/admin/users/${rootId}/set-password/`, { password: 'hail hydra' }), 'resetting a superuser\'s password')
  await denied(await admin.post(`/api/admin/users/${rootId}/deactivate/`), 'deactivating a superuser')
  await denied(await admin.post(`/api/admin/users/${rootId}/revoke-all/`), 'logging a superuser out')

  t.match(await app.simplejwt.users.findById(adminId), { isStaff: true, isSuperuser: false }, 'the staff user is as it was')
  t.match(await app.simplejwt.users.findById(user.id), { isStaff: false, isSuperuser: false, firstName: 'Peter' })
  t.match(await app.simplejwt.users.findById(rootId), { isActive: true, isSuperuser: true, firstName: 'Maria' }, 'the superuser too')
  t.equal(await app.simplejwt.users.findByUsername('thanos'), undefined, 'nobody was created')
  t.equal((await as(rootAccess).get('/api/admin/users/')).statusCode, 200, 'the superuser\'s token still works')
  t.ok(await obtainPair(app, 'root', 'root-pass'), 'and so does its password')

  // What staff may still do: read everyone, superusers included, and manage the other users,
  // sending their flags back unchanged.
  t.equal((await admin.get(`/api/admin/users/${rootId}/`)).statusCode, 200, 'reading a superuser')
  t.equal((await admin.get('/api/admin/users/')).json().count, 3, 'listing them')
  const kept = await admin.patch(`/api/admin/users/${user.id}/`, { first_name: 'Miles', is_staff: false, is_superuser: false })
  t.equal(kept.statusCode, 200, 'the flags as they are')
  t.equal(kept.json().first_name, 'Miles')
  t.equal((await admin.post('/api/admin/users/', { username: 'mj', password: 'tiger-lily', is_staff: false })).statusCode, 201, 'a plain user')
  t.equal((await admin.post(`/api/admin/users/${user.id}/set-password/`, { password: 'with great power' })).statusCode, 200)
  t.equal((await admin.post(`/api/admin/users/${user.id}/deactivate/`)).statusCode, 200)
  t.equal((await admin.patch(`/api/admin/users/${adminId}/`, { last_name: 'Fury Jr.' })).statusCode, 200, 'one\'s own names')
})

t.test('a superuser grants and revokes staff and superuser status and manages superusers', async t => {
  const root = as(await superuser())
  await createUser(app, { username: 'admin', password: 'admin-pass', isStaff: true })
  const created = await root.post('/api/admin/users/', { username: 'carol', password: 'higher further', is_staff: true, is_superuser: true })
  t.equal(created.statusCode, 201)
  t.match(created.json(), { is_staff: true, is_superuser: true })
  const carol = created.json().id as number
  t.match((await root.patch('/api/admin/users/2/', { is_superuser: true })).json(), { is_superuser: true }, 'staff made superuser')
  t.match((await root.patch('/api/admin/users/2/', { is_superuser: false, is_staff: false })).json(), { is_staff: false, is_superuser: false }, 'and back, and out of staff')
  t.equal((await root.post(`/api/admin/users/${carol}/set-password/`, { password: 'binary stars' })).statusCode, 200)
  t.equal((await root.post(`/api/admin/users/${carol}/revoke-all/`)).statusCode, 200)
  t.match((await root.post(`/api/admin/users/${carol}/deactivate/`)).json(), { is_active: false })
})

t.test('AUTH_STATELESS: the admin routes still load the user, so a revoked, inactive or demoted staff token is refused (issue 15, finding 6)', async t => {
  await createUser(app, { username: 'admin', password: 'admin-pass', firstName: 'Nick', lastName: 'Fury', isStaff: true })
  const spiderman = await createUser(app)
  const stateless = (access: string) => as(access, statelessApp)
  const first = (await obtainPair(statelessApp, 'admin', 'admin-pass')).access
  t.equal((await stateless(first).get('/api/admin/users/')).statusCode, 200, 'a staff token administers')
  t.equal((await stateless(first).post(`/api/admin/users/${spiderman.id}/revoke-all/`)).statusCode, 200)

  // Revoked (log out everywhere): every admin route refuses the token, in the stateful answer's shape.
  clock.tick(1)
  await app.simplejwt.accounts.revokeAll(1)
  for (const res of [
    await stateless(first).get('/api/admin/users/'),
    await stateless(first).post('/api/admin/users/1/set-password/', { password: 'mine now' }),
    await stateless(first).patch(`/api/admin/users/${spiderman.id}/`, { first_name: 'x' })
  ]) {
    t.equal(res.statusCode, 401, `${res.raw.req.method} ${res.raw.req.url} with a revoked token`)
    t.same(res.json(), REVOKED)
  }
  await t.rejects(obtainPair(app, 'admin', 'mine now'), /401/, 'the revoked token did not reset its own password')
  t.equal((await hello(first)).statusCode, 401, 'the stateful service refuses it too')

  // Inactive.
  clock.tick(1)
  const second = (await obtainPair(statelessApp, 'admin', 'admin-pass')).access
  t.equal((await stateless(second).get('/api/admin/users/')).statusCode, 200)
  await app.simplejwt.users.update('admin', { isActive: false })
  const inactive = await stateless(second).get('/api/admin/users/')
  t.equal(inactive.statusCode, 401)
  t.same(inactive.json(), { detail: 'User is inactive', code: 'user_inactive' })

  // Demoted.
  await app.simplejwt.users.update('admin', { isActive: true, isStaff: false })
  t.same((await stateless(second).get('/api/admin/users/')).json(), FORBIDDEN, 'no longer staff')

  // No such user: a well-signed token for an id nobody has.
  const unknown = await stateless(forge(accessClaims(clock, { user_id: 999 }))).get('/api/admin/users/')
  t.equal(unknown.statusCode, 401)
  t.same(unknown.json(), { detail: 'User not found', code: 'user_not_found' })

  // A superuser's flags come from the database too (a stateless token's user is never a superuser).
  await createUser(app, { username: 'root', password: 'root-pass', isStaff: true, isSuperuser: true })
  const root = stateless((await obtainPair(statelessApp, 'root', 'root-pass')).access)
  t.equal((await root.patch(`/api/admin/users/${spiderman.id}/`, { is_staff: true })).statusCode, 200)
})
