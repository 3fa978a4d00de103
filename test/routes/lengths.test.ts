// Lengths at the HTTP level count characters as Python does (issue 17, item 4): 150 astral letters
// are a valid Django username, so its login is checked (401 or 200), not refused with 400; the
// 151st character is DRF's "Ensure this field has no more than 150 characters.", in every body.
import t from 'tap'
import { bearer, build, createUser, obtainPair, resetDb } from '../helper.js'

const app = await build(t)
t.beforeEach(() => resetDb(app))

// 𠮷 (U+20BB7): a letter for Django's UnicodeUsernameValidator, unchanged by NFKC, two UTF-16 code units.
const ASTRAL = '\u{20BB7}'
const SPIDER = '\u{1F577}'
const TOO_LONG = (max: number) => [`Ensure this field has no more than ${max} characters.`]

const login = (url: string, username: string, password = 'underoos') => app.inject({ method: 'POST', url, payload: { username, password } })

t.test('login: 150 astral letters are checked like any username; 151 are DRF\'s 400', async t => {
  for (const url of ['/api/token/', '/api/token/sliding/']) {
    t.equal((await login(url, ASTRAL.repeat(150))).statusCode, 401, `${url}: unknown user, not a 400`)
    const long = await login(url, ASTRAL.repeat(151), SPIDER.repeat(4097))
    t.equal(long.statusCode, 400)
    t.same(long.json(), { username: TOO_LONG(150), password: TOO_LONG(4096) })
  }
  await createUser(app, { username: ASTRAL.repeat(150), password: SPIDER.repeat(4096), firstName: SPIDER.repeat(150) })
  const res = await login('/api/token/', ASTRAL.repeat(150), SPIDER.repeat(4096))
  t.equal(res.statusCode, 200, 'a 4096-emoji password is 4096 characters')
  const form = await app.inject({ method: 'POST', url: '/api/token/', payload: new URLSearchParams({ username: ` ${ASTRAL.repeat(150)} `, password: SPIDER.repeat(4096) }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(form.statusCode, 200, 'as a form, surrounding spaces stripped first')
  const hello = await app.inject({ method: 'GET', url: '/api/hello/', headers: bearer(res.json().access) })
  t.equal(hello.statusCode, 200)
})

t.test('admin API: a username of 150 astral letters and names of 150 emoji; 151 of either are refused', async t => {
  await createUser(app, { username: 'admin', password: 'admin-pass', isStaff: true })
  const { access } = await obtainPair(app, 'admin', 'admin-pass')
  const send = (method: 'POST' | 'PATCH', url: string, payload: Record<string, unknown>) => app.inject({ method, url, headers: bearer(access), payload })
  const created = await send('POST', '/api/admin/users/', {
    username: ASTRAL.repeat(150), password: 'with great power', first_name: SPIDER.repeat(150), last_name: SPIDER, email: ''
  })
  t.equal(created.statusCode, 201)
  t.match(created.json(), { username: ASTRAL.repeat(150), first_name: SPIDER.repeat(150), last_name: SPIDER })
  const id = created.json().id as number
  t.equal((await login('/api/token/', ASTRAL.repeat(150), 'with great power')).statusCode, 200)

  const refused = await send('POST', '/api/admin/users/', { username: ASTRAL.repeat(151), password: 'with great power', first_name: SPIDER.repeat(151), last_name: SPIDER.repeat(151) })
  t.equal(refused.statusCode, 400)
  t.same(refused.json(), { username: TOO_LONG(150), first_name: TOO_LONG(150), last_name: TOO_LONG(150) })

  const updated = await send('PATCH', `/api/admin/users/${id}/`, { last_name: SPIDER.repeat(150) })
  t.equal(updated.statusCode, 200)
  t.equal(updated.json().last_name, SPIDER.repeat(150))
  const tooLong = await send('PATCH', `/api/admin/users/${id}/`, { first_name: SPIDER.repeat(151) })
  t.same([tooLong.statusCode, tooLong.json()], [400, { first_name: TOO_LONG(150) }])
  const password = await send('POST', `/api/admin/users/${id}/set-password/`, { password: SPIDER.repeat(4097) })
  t.same([password.statusCode, password.json()], [400, { password: TOO_LONG(4096) }])
})
