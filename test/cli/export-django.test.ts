// `export-django`, the way back, run in-process on databases of this file's own (PGlite under a temporary
// DATA_DIR, or PostgreSQL when TEST_DATABASE_URL is set): a real dumpdata imported, a user rehashed at login,
// exported, read as Django's loaddata would, and imported again into a fresh database.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { verify } from '@node-rs/argon2'
import { jwtVerify } from 'jose'
import type { FastifyInstance } from 'fastify'
import { createUsersRepository } from '../../src/db/users.js'
import type { Database } from '../../src/db/client.js'
import { build, cliDatabase, decodeParts, TEST_KEY, type TestLike } from '../helper.js'
import { runCommand } from '../helpers/cli.js'

interface DumpRecord { model: string, pk: number, fields: Record<string, unknown> }
const fixtures = new URL('../fixtures/', import.meta.url)
const DUMP_FILE = new URL('dumpdata-auth-user.json', fixtures).pathname
const records = JSON.parse(await readFile(DUMP_FILE, 'utf8')) as DumpRecord[]

const scratch = await mkdtemp(join(tmpdir(), 'fsj-export-'))
t.teardown(() => rm(scratch, { recursive: true, force: true }))

const here = await cliDatabase(t, join(scratch, 'data'))
const fresh = await cliDatabase(t, join(scratch, 'fresh'))

const cli = runCommand

/** Every user of a database, opened after the CLI has closed it. */
async function usersOf (open: () => Promise<Database>) {
  const database = await open()
  try {
    return await createUsersRepository(database.db).list()
  } finally {
    await database.close()
  }
}

/** A login on an app over this file's first database; the app is closed again before returning. */
async function login (username: string, password: string) {
  const teardowns: Array<() => unknown> = []
  const local: TestLike = { teardown: fn => { teardowns.push(fn) } }
  const database = await here.openAppDatabase()
  try {
    const app: FastifyInstance = await build(local, {}, { database })
    return await app.inject({ method: 'POST', url: '/api/token/', payload: { username, password } })
  } finally {
    for (const teardown of teardowns.reverse()) await teardown()
    await database.close()
  }
}

/** Django's Argon2PasswordHasher.verify: argon2-cffi's verify of the PHC string after `argon2`. */
async function djangoArgon2Verify (encoded: string, password: string): Promise<boolean> {
  const [algorithm, ...rest] = encoded.split('$')
  return algorithm === 'argon2' && verify('$' + rest.join('$'), password)
}

const CURRENT = /^argon2\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/
const DJANGO_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{3})?Z$/
// Django's own tokens (test/routes/token-django.test.ts's transcript), header and claims as simplejwt writes them.
const DJANGO_ACCESS = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjoxNzk1OTg4Nzg5LCJpYXQiOjE3OTU5ODg0ODksImp0aSI6IjE0ODhiN2JiMmZjNTQyN2NhOGNhMGUzNDk1YTIzZWIwIiwidXNlcl9pZCI6MX0.'
const DJANGO_REFRESH = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCIsImV4cCI6MTc5NjA3NDg4OSwiaWF0IjoxNzk1OTg4NDg5LCJqdGkiOiJhNzBiYTRmZjVkMmE0MDA4ODBlNTQyMjM5MjE1NDY5MCIsInVzZXJfaWQiOjF9.'

const exported = join(scratch, 'users.json')
let access = ''
let refresh = ''

t.test('export-django: usage errors exit 2', async t => {
  const usage = await cli(here.env, ['export-django', 'a.json', 'b.json'])
  t.equal(usage.code, 2)
  t.match(usage.stderr, /^Error: export-django takes at most one FILE \(- or none for standard output\)\nUsage: /)
})

t.test('import --harden, a login rehashes spiderman, a new password for admin', async t => {
  t.equal((await cli(here.env, ['import-django', DUMP_FILE, '--harden'])).code, 0)
  const res = await login('spiderman', 'underoos')
  t.equal(res.statusCode, 200)
  ;({ access, refresh } = res.json() as { access: string, refresh: string })
  t.equal((await cli(here.env, ['changepassword', 'admin', '--password-stdin'], 'a-new-admin-pass-456\n')).code, 0)
})

t.test('export-django FILE: a new file, mode 0600, the summary and the warnings on stderr', async t => {
  const run = await cli(here.env, ['export-django', exported])
  t.strictSame(run, {
    code: 0,
    stdout: '',
    stderr: `Exported 8 users to ${exported}; password hashes: argon2 3, pbkdf2_sha256 2, argon2_md5 1, bcrypt_sha256 1, unusable 1.
Warning: 1 user with a hash that Django cannot check (exported as is; every password fails there until it is reset). Before the rollback, have them log in here once (their hash becomes argon2id) and export again; after it, reset their passwords at Django (password reset, or manage.py changepassword):
  pk 6 "old.legacy": argon2_md5 (import-django --harden) is not a Django hasher
Note: 1 user with a token cut-off here (log out everywhere, a new password, a deactivation); Django has none, so their tokens issued before it are accepted there again until they expire (tokens blacklisted here too): change the signing key at the rollback to end every session.
`
  })
  t.equal((await stat(exported)).mode & 0o777, 0o600, 'readable by its owner only: it holds password hashes')

  const before = await readFile(exported, 'utf8')
  t.strictSame(await cli(here.env, ['export-django', exported]), { code: 1, stdout: '', stderr: `Error: ${exported} already exists; remove it or name another file\n` })
  t.equal(await readFile(exported, 'utf8'), before, 'and is left as it was')

  const missing = join(scratch, 'no-such-dir', 'users.json')
  t.strictSame(await cli(here.env, ['export-django', missing]), { code: 1, stdout: '', stderr: `Error: cannot write ${missing} (ENOENT)\n` })

  for (const argv of [['export-django'], ['export-django', '-']]) {
    const out = await cli(here.env, argv)
    t.equal(out.code, 0)
    t.equal(out.stdout, before, `${argv.join(' ')} writes the same dump to standard output`)
    t.match(out.stderr, /^Exported 8 users; password hashes: /)
  }
})

t.test('the export, read as loaddata reads it: the same records, ids and fields in order, hashes Django checks', async t => {
  const text = await readFile(exported, 'utf8')
  t.ok(text.startsWith('[\n{\n  "model": "auth.user",\n  "pk": 1,\n  "fields": {\n    "password": '), 'dumpdata --indent 2 layout')
  t.ok(text.endsWith('\n  }\n}\n]\n'))
  const dump = JSON.parse(text) as DumpRecord[]
  t.strictSame(dump.map(r => [r.model, r.pk]), records.map(r => [r.model, r.pk]), 'every user, ids kept')
  const stored = await usersOf(here.openAppDatabase)
  for (const [i, record] of dump.entries()) {
    const original = records[i]
    const { groups, user_permissions: permissions, ...fields } = original.fields
    t.strictSame([groups, permissions], [[], []])
    t.strictSame(Object.keys(record.fields), Object.keys(fields), `pk ${record.pk}: auth.User's field order, without the many-to-many fields`)
    t.match(record.fields.date_joined, DJANGO_DATETIME)
    t.equal(new Date(record.fields.date_joined as string).getTime(), new Date(fields.date_joined as string).getTime())
    const username = fields.username as string
    if (username === 'spiderman') {
      t.match(record.fields.password, CURRENT, 'rehashed at login')
      t.equal(await djangoArgon2Verify(record.fields.password as string, 'underoos'), true, 'and Django\'s Argon2PasswordHasher verifies it')
      t.equal(await djangoArgon2Verify(record.fields.password as string, 'underoos!'), false)
    } else if (username === 'admin') {
      t.equal(await djangoArgon2Verify(record.fields.password as string, 'a-new-admin-pass-456'), true, 'the password set here works at Django')
    } else if (username === 'old.legacy') {
      t.match(record.fields.password, /^argon2_md5\$/, '--harden\'s hash, as it is')
    } else {
      t.equal(record.fields.password, fields.password, `${username}: the hash byte for byte as Django wrote it`)
    }
    // pk 1 joined some microseconds under a millisecond past a second: Django wrote .000Z, the
    // export (with milliseconds only) writes what Django writes for a whole second, no fraction.
    const instant = (f: Record<string, unknown>) => ({ ...f, password: '', date_joined: new Date(f.date_joined as string).toISOString() })
    t.strictSame(instant(record.fields), instant(fields), `${username}: every other field as Django wrote it`)
    t.equal(record.fields.password, stored[i].password)
  }
})

t.test('the export imported into a fresh database is the same users', async t => {
  const run = await cli(fresh.env, ['import-django', exported])
  t.equal(run.code, 0)
  t.equal(run.stderr, '')
  // The cut-off does not go to Django; djangoPassword is the hash as last imported (Django's original
  // there, the exported one here), which only import-django --sync reads.
  const strip = (users: Awaited<ReturnType<typeof usersOf>>) => users.map(({ tokensValidAfter: _cutoff, djangoPassword: _imported, ...user }) => user)
  const original = await usersOf(here.openAppDatabase)
  const again = await usersOf(fresh.openAppDatabase)
  t.equal(again.length, 8)
  t.strictSame(strip(again), strip(original), 'ids, names, flags, dates and hashes')
  t.strictSame(again.map(u => u.tokensValidAfter), again.map(() => null), 'the token cut-off is not exported')
})

t.test('a token minted here is a token Django checks with the same key', async t => {
  for (const [token, django, type] of [[access, DJANGO_ACCESS, 'access'], [refresh, DJANGO_REFRESH, 'refresh']] as const) {
    t.equal(token.split('.')[0], django.split('.')[0], `${type}: the header, byte for byte: {"alg":"HS256","typ":"JWT"}`)
    const ours = decodeParts(token).payload
    const theirs = decodeParts(django).payload
    t.strictSame(Object.keys(ours), Object.keys(theirs), `${type}: simplejwt's claims, in its order`)
    t.equal(ours.token_type, type)
    t.equal(ours.user_id, 1, 'spiderman\'s id, the same in the export')
    t.match(ours.jti, /^[0-9a-f]{32}$/)
    t.equal((ours.exp as number) - (ours.iat as number), (theirs.exp as number) - (theirs.iat as number), 'the lifetimes of the same settings')
    // What Django's simplejwt does with it: PyJWT's HS256 check with SIGNING_KEY (jose stands in).
    const { payload, protectedHeader } = await jwtVerify(token, new TextEncoder().encode(TEST_KEY), { algorithms: ['HS256'], currentDate: new Date((ours.iat as number) * 1000) })
    t.strictSame(protectedHeader, { alg: 'HS256', typ: 'JWT' })
    t.strictSame(payload, ours)
  }
})
