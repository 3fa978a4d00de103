// Reading `manage.py dumpdata auth.user` (src/domain/dumpdata.ts), without a database.
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { DumpdataError, hardenUsers, hashBreakdown, ignoredNote, parseDumpdata, readDumpdata } from '../../src/domain/dumpdata.js'
import { verifyPassword } from '../../src/domain/passwords.js'

const dump = await readFile(new URL('../fixtures/dumpdata-auth-user.json', import.meta.url), 'utf8')
const NOW = new Date('2027-01-01T00:00:00Z')

const record = (fields: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  ({ model: 'auth.user', pk: 1, fields: { username: 'bob', password: '!x', ...fields }, ...extra })
const parseOne = (value: unknown) => parseDumpdata(JSON.stringify([value]), NOW)[0]

t.test('a real dumpdata parses into users with Django\'s primary keys', async t => {
  const users = parseDumpdata(dump, NOW)
  t.equal(users.length, 8)
  t.strictSame(users.map(u => u.id), [1, 2, 3, 4, 5, 6, 7, 8])
  t.strictSame(users[0], {
    id: 1,
    username: 'spiderman',
    password: 'pbkdf2_sha256$260000$OJOzLlsqBLUVYowTnkv9wu$a876k4Hn1hH1XsfT+NyfFr2VTkvhy4/hq6u1nEMnTEI=',
    firstName: 'Peter',
    lastName: 'Parker',
    email: 'peter@example.com',
    isSuperuser: false,
    isStaff: false,
    isActive: true,
    lastLogin: null,
    dateJoined: new Date('2026-11-29T22:07:36.000Z')
  })
  t.match(users[1], { username: 'ghost', isActive: false })
  t.match(users[2], { username: 'admin', isStaff: true, isSuperuser: true })
  t.match(users[7], { username: 'ünïcödé', firstName: 'Zoë', lastName: 'Ångström' })
})

t.test('fields loaddata would default are defaulted the same way', async t => {
  t.strictSame(parseOne({ model: 'auth.user', pk: 7, fields: { username: 'min', password: '!x' } }), {
    id: 7, username: 'min', password: '!x', firstName: '', lastName: '', email: '', isSuperuser: false, isStaff: false, isActive: true, lastLogin: null, dateJoined: NOW
  })
})

t.test('dates in every form DjangoJSONEncoder writes', async t => {
  const cases: Array<[string, string]> = [
    ['2026-11-29T22:07:36.159Z', '2026-11-29T22:07:36.159Z'],
    ['2026-11-29T22:07:36Z', '2026-11-29T22:07:36.000Z'],
    ['2026-11-29T23:07:36.159+01:00', '2026-11-29T22:07:36.159Z'],
    ['2026-11-29T17:07:36-0500', '2026-11-29T22:07:36.000Z'],
    ['2026-11-29T22:07:36.159876', '2026-11-29T22:07:36.159Z'],
    ['2026-11-29 22:07:36', '2026-11-29T22:07:36.000Z'],
    ['2026-11-29T22:07', '2026-11-29T22:07:00.000Z']
  ]
  for (const [value, expected] of cases) {
    const user = parseOne(record({ date_joined: value, last_login: value }))
    t.equal(user.dateJoined?.toISOString(), expected, value)
    t.equal(user.lastLogin?.toISOString(), expected)
  }
})

t.test('a malformed record is named by its index, with the reason', async t => {
  const cases: Array<[unknown, string]> = [
    ['auth.user', 'must be an object with model, pk and fields'],
    [null, 'must be an object with model, pk and fields'],
    [record({}, { model: 'accounts.user' }), 'model "accounts.user" is not auth.user: dump the users with `manage.py dumpdata auth.user` (or `dumpdata auth`, whose groups and permissions are ignored)'],
    [{ model: 'sessions.session', pk: 'x', fields: {} }, 'model "sessions.session" is not auth.user: dump the users with `manage.py dumpdata auth.user` (or `dumpdata auth`, whose groups and permissions are ignored)'],
    [record({ groups: null }), 'fields.groups must be a list (got null)'],
    [record({ user_permissions: {} }), 'fields.user_permissions must be a list (got {})'],
    [record({}, { pk: undefined }), 'has no pk: dump without --natural-primary, so that user ids (and tokens) survive'],
    [record({}, { pk: '1' }), 'pk must be an integer from 1 to 2147483647 (got "1")'],
    [record({}, { pk: 0 }), 'pk must be an integer from 1 to 2147483647 (got 0)'],
    [record({}, { pk: 1.5 }), 'pk must be an integer from 1 to 2147483647 (got 1.5)'],
    [record({}, { pk: 2147483648 }), 'pk must be an integer from 1 to 2147483647 (got 2147483648)'],
    [record({}, { fields: [] }), 'fields must be an object'],
    [record({ username: undefined }), 'fields.username must be a string (got undefined)'],
    [record({ username: '  ' }), 'fields.username may not be blank'],
    [record({ username: 'x'.repeat(151) }), 'fields.username is longer than 150 characters'],
    [record({ username: 'a\u0000b' }), 'fields.username contains a NUL character'],
    [record({ password: null }), 'fields.password must be a string (got null)'],
    [record({ first_name: 'x'.repeat(151) }), 'fields.first_name is longer than 150 characters'],
    [record({ email: 42 }), 'fields.email must be a string (got 42)'],
    [record({ is_active: 'true' }), 'fields.is_active must be true or false (got "true")'],
    [record({ is_superuser: 1 }), 'fields.is_superuser must be true or false (got 1)'],
    [record({ date_joined: 'yesterday' }), 'fields.date_joined must be an ISO 8601 date and time (got "yesterday")'],
    [record({ date_joined: null }), 'fields.date_joined must be an ISO 8601 date and time (got null)'],
    [record({ last_login: 1795988490 }), 'fields.last_login must be an ISO 8601 date and time (got 1795988490)'],
    [record({ last_login: '2026-13-45T99:99:99Z' }), 'fields.last_login is not a valid date and time (got "2026-13-45T99:99:99Z")']
  ]
  const good = record({ username: 'first' }, { pk: 100 })
  for (const [value, reason] of cases) {
    t.throws(() => parseDumpdata(JSON.stringify([good, value]), NOW), new DumpdataError(reason, 1), reason)
  }
  t.throws(() => parseDumpdata(JSON.stringify([good, record({}, { pk: 100 })])), { message: 'record 1: pk 100 already appears in record 0', index: 1 })
  t.throws(() => parseDumpdata(JSON.stringify([good, record({ username: 'first' }, { pk: 2 })])), { message: 'record 1: username "first" already appears in record 0' })
  t.throws(() => parseDumpdata('{}'), { message: 'expected the JSON array that manage.py dumpdata writes', index: undefined })
  t.throws(() => parseDumpdata('[1,'), { message: /^not valid JSON \(/ })
  t.strictSame(parseDumpdata('[]'), [])
})

t.test('hashBreakdown counts by hasher and lists the hashes that can never match', async t => {
  const users = parseDumpdata(dump, NOW)
  const { counts, neverMatch } = hashBreakdown(users)
  t.strictSame(Object.fromEntries(counts), { pbkdf2_sha256: 4, argon2: 1, bcrypt_sha256: 1, md5: 1, unusable: 1 })
  t.strictSame(neverMatch, [])
  const odd = parseDumpdata(JSON.stringify([
    record({ password: 'pbkdf2_sha256$99999999$salt$aGFzaA==' }, { pk: 1 }),
    record({ username: 'c', password: 'crypt$$abN0RUuEpiNnA' }, { pk: 2 }),
    record({ username: 'd', password: 'sha1$salt$nothex' }, { pk: 3 })
  ]))
  const breakdown = hashBreakdown(odd)
  t.strictSame(Object.fromEntries(breakdown.counts), { pbkdf2_sha256: 1, unknown: 1, sha1: 1 })
  t.match(breakdown.neverMatch, [
    { id: 1, username: 'bob', reason: /over the cap/ },
    { id: 2, username: 'c', reason: 'unknown hasher "crypt"' },
    { id: 3, username: 'd', reason: /lowercase hex/ }
  ])
})

t.test('hardenUsers wraps only the weak hashes, and the wrapped ones verify', async t => {
  const users = parseDumpdata(dump, NOW)
  const before = users.map(u => u.password)
  t.strictSame(Object.fromEntries(await hardenUsers(users, 2)), { md5: 1 })
  const legacy = users.find(u => u.username === 'old.legacy')
  t.match(legacy?.password, /^argon2_md5\$cMfj5WDzN0DAX5zK2kTXKj\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
  t.equal(await verifyPassword(legacy?.password as string, 'legacy-pw'), true)
  t.equal(await verifyPassword(legacy?.password as string, 'legacy-pw!'), false)
  t.strictSame(users.filter(u => u !== legacy).map(u => u.password), before.filter((_, i) => users[i] !== legacy), 'the others are untouched')
})

t.test('dumpdata auth: permissions, groups, content types and memberships are skipped and counted', async t => {
  const auth = await readFile(new URL('../fixtures/dumpdata-auth.json', import.meta.url), 'utf8')
  const { users, ignored } = readDumpdata(auth, NOW)
  t.same(users.map(user => user.id), [101, 102, 103])
  t.strictSame(ignored, { models: { 'auth.permission': 8, 'auth.group': 2 }, usersWithGroups: 2, usersWithPermissions: 1 })
  t.equal(ignoredNote(ignored), 'Note: ignored 8 auth.permission, 2 auth.group, the groups of 2 users and the permissions of 1 user: only users are imported (is_staff and is_superuser with them); groups and permissions have no meaning here.')
  const withTypes = readDumpdata(JSON.stringify([{ model: 'contenttypes.contenttype', pk: 1, fields: { app_label: 'auth', model: 'user' } }, record({ groups: [1] })]), NOW)
  t.equal(ignoredNote(withTypes.ignored), 'Note: ignored 1 contenttypes.contenttype and the groups of 1 user: only users are imported (is_staff and is_superuser with them); groups and permissions have no meaning here.')
  t.equal(ignoredNote(readDumpdata(dump, NOW).ignored), undefined, 'dumpdata auth.user: nothing to note')
  t.throws(() => readDumpdata(JSON.stringify([{ model: 'auth.group', fields: {} }, 'x'])), new DumpdataError('must be an object with model, pk and fields', 1))
})
