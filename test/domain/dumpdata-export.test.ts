// Writing `manage.py dumpdata auth.user --indent 2` (src/domain/dumpdata-export.ts), without a database:
// the real dump read and written again is the same text, and our argon2id is the one Django checks.
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { verify } from '@node-rs/argon2'
import { hardenUsers, parseDumpdata, readDumpdata } from '../../src/domain/dumpdata.js'
import { djangoDatetime, djangoUserRecord, exportNotes, writeDumpdata, type ExportedUser } from '../../src/domain/dumpdata-export.js'
import { hashPassword } from '../../src/domain/passwords.js'

interface Vector { hasher: string, password: string, encoded: string, wrong_password: string }
const fixtures = new URL('../fixtures/', import.meta.url)
const dump = await readFile(new URL('dumpdata-auth-user.json', fixtures), 'utf8')
const argon2Vectors = (JSON.parse(await readFile(new URL('django-argon2.json', fixtures), 'utf8')) as { vectors: Vector[] }).vectors
const NOW = new Date('2027-01-01T00:00:00Z')

/**
 * Django's Argon2PasswordHasher.verify, written again from its source rather than from ours:
 * `algorithm, rest = encoded.split('$', 1)`, then argon2-cffi's verify of `'$' + rest`, the PHC string.
 */
async function djangoArgon2Verify (encoded: string, password: string): Promise<boolean> {
  const [algorithm, ...rest] = encoded.split('$')
  if (algorithm !== 'argon2') return false
  return verify('$' + rest.join('$'), password)
}

/** Django's encoding: `argon2$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>`, unpadded standard base64. */
const DJANGO_ARGON2 = /^argon2\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/

const user = (extra: Partial<ExportedUser> = {}): ExportedUser => ({
  id: 1, username: 'bob', password: '!x', firstName: '', lastName: '', email: '', isActive: true, isStaff: false, isSuperuser: false, lastLogin: null, dateJoined: new Date('2026-11-29T22:07:36.159Z'), ...extra
})
/** The real dump's users, as the users table holds them. */
const stored = (now = NOW): ExportedUser[] => parseDumpdata(dump, now).map(u => user(u))

t.test('the real dump, read and written again, is the same text but for what Django would write otherwise', async t => {
  // Two differences, both on purpose: no groups and user_permissions (loaddata would empty them), and
  // pk 1 joined at 22:07:36 and some microseconds under a millisecond, which the import cannot keep:
  // Django writes a whole second without a fraction.
  const expected = dump.replaceAll(',\n    "groups": [],\n    "user_permissions": []', '').replace('"2026-11-29T22:07:36.000Z"', '"2026-11-29T22:07:36Z"')
  t.equal(writeDumpdata(stored()), expected)
})

t.test('the export reads back as the same users', async t => {
  const users = stored()
  t.strictSame(readDumpdata(writeDumpdata(users), NOW), { users, renamed: [], ignored: { models: {}, usersWithGroups: 0, usersWithPermissions: 0 } })
  const odd = [user({ username: 'zoë', firstName: 'Tab\there', lastName: 'quote " back \\ slash', email: 'a/b@example.com', lastLogin: new Date('2026-12-01T00:00:00.001Z') })]
  t.strictSame(parseDumpdata(writeDumpdata(odd), NOW), odd)
  t.match(writeDumpdata(odd), '"username": "zoë"', 'non-ASCII as it is (ensure_ascii=False)')
})

t.test('an empty table is the empty dump Django writes', async t => {
  t.equal(writeDumpdata([]), '[\n]\n')
})

t.test('datetimes as DjangoJSONEncoder writes them', async t => {
  t.equal(djangoDatetime(new Date('2026-11-29T22:07:36.159Z')), '2026-11-29T22:07:36.159Z')
  t.equal(djangoDatetime(new Date('2026-11-29T22:07:36.010Z')), '2026-11-29T22:07:36.010Z')
  t.equal(djangoDatetime(new Date('2026-11-29T22:07:36Z')), '2026-11-29T22:07:36Z')
  t.strictSame(djangoUserRecord(user({ lastLogin: new Date('2026-12-01T08:00:00.5Z') })).fields.last_login, '2026-12-01T08:00:00.500Z')
  t.equal(djangoUserRecord(user()).fields.last_login, null)
})

t.test('the hash this service makes is one Django checks, as Django checks it', async t => {
  // The independent check agrees with Django's own vectors first.
  for (const v of argon2Vectors) {
    t.equal(await djangoArgon2Verify(v.encoded, v.password), true, `Django's ${JSON.stringify(v.password)}`)
    t.equal(await djangoArgon2Verify(v.encoded, v.wrong_password), false)
  }
  const encoded = await hashPassword('underoos')
  t.match(encoded, DJANGO_ARGON2)
  t.equal(await djangoArgon2Verify(encoded, 'underoos'), true)
  t.equal(await djangoArgon2Verify(encoded, 'underoos!'), false)
})

t.test('exportNotes: the --harden hashes Django cannot check, and the token cut-offs it does not know', async t => {
  const users = parseDumpdata(dump, NOW)
  await hardenUsers(users)
  const exported = users.map((u, i) => user({ ...u, tokensValidAfter: i === 0 ? NOW : null }))
  t.strictSame(exportNotes(exported), {
    unknownToDjango: [{ id: 6, username: 'old.legacy', reason: 'argon2_md5 (import-django --harden) is not a Django hasher' }],
    tokenCutoffs: 1
  })
  t.match(JSON.parse(writeDumpdata(exported))[5].fields.password, /^argon2_md5\$/, 'exported as it is')
  t.strictSame(exportNotes(stored()), { unknownToDjango: [], tokenCutoffs: 0 })
})
