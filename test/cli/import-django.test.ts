// `import-django`, run in-process on a database of this file's own (PGlite under a temporary DATA_DIR,
// or PostgreSQL when TEST_DATABASE_URL is set): a real `manage.py dumpdata auth.user`, then every user logs in.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { eq } from 'drizzle-orm'
import { blacklistedTokens } from '../../src/db/schema.js'
import { bearer, build, cliDatabase, createUser, forge, type TestLike } from '../helper.js'
import { runCommand } from '../helpers/cli.js'

interface Vector { hasher: string, password: string, encoded: string, wrong_password: string }
const fixtures = new URL('../fixtures/', import.meta.url)
const DUMP_FILE = new URL('dumpdata-auth-user.json', fixtures).pathname
const dump = await readFile(DUMP_FILE, 'utf8')
const records = JSON.parse(dump) as Array<{ model: string, pk: number, fields: Record<string, unknown> }>
const passwords = JSON.parse(await readFile(new URL('dumpdata-passwords.json', fixtures), 'utf8')) as Record<string, string | null>
const vectors = (JSON.parse(await readFile(new URL('django-hashes.json', fixtures), 'utf8')) as { vectors: Vector[] }).vectors

const scratch = await mkdtemp(join(tmpdir(), 'fsj-import-'))
t.teardown(() => rm(scratch, { recursive: true, force: true }))

const { env, openAppDatabase } = await cliDatabase(t, join(scratch, 'data'))

/** Runs one command; `stdin` is piped in (and ended) when given. */
const cli = (argv: string[], stdin?: string) => runCommand(env, argv, stdin)

/** An app on the CLI's database, opened after the CLI has closed it; closed again before returning. */
async function withApp<T> (fn: (app: FastifyInstance) => Promise<T>): Promise<T> {
  const teardowns: Array<() => unknown> = []
  const local: TestLike = { teardown: fn => { teardowns.push(fn) } }
  const database = await openAppDatabase()
  try {
    return await fn(await build(local, {}, { database }))
  } finally {
    for (const teardown of teardowns.reverse()) await teardown()
    await database.close()
  }
}

function login (app: FastifyInstance, username: string, password: string) {
  return app.inject({ method: 'POST', url: '/api/token/', payload: { username, password } })
}

/** Writes records as a dump file and returns its path. */
async function dumpFile (name: string, content: unknown): Promise<string> {
  const path = join(scratch, name)
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2))
  return path
}

const user = (pk: number, username: string, password: string, extra: Record<string, unknown> = {}) => ({
  model: 'auth.user',
  pk,
  fields: { password, last_login: null, is_superuser: false, username, first_name: '', last_name: '', email: '', is_staff: false, is_active: true, date_joined: '2026-11-29T22:07:36.000Z', groups: [], user_permissions: [], ...extra }
})

const FULL_IMPORT = `Imported 8 users, skipped 0, updated 0; new users get ids from 9 on.
Password hashes:
  pbkdf2_sha256  4
  argon2         1
  bcrypt_sha256  1
  md5            1
  unusable       1  never matches (unusable in Django too)
`

// ---------------------------------------------------------------------------------------------
// Refused before the database is opened

t.test('import-django: usage errors exit 2', async t => {
  const usage = await cli(['import-django'])
  t.equal(usage.code, 2)
  t.match(usage.stderr, /^Error: import-django needs one FILE \(- for standard input\)\nUsage: /)
  t.equal((await cli(['import-django', 'a.json', 'b.json'])).code, 2)
  t.strictSame(await cli(['import-django', DUMP_FILE, '--on-conflict', 'replace']),
    { code: 2, stdout: '', stderr: 'Error: --on-conflict must be skip or update\n' })
})

t.test('import-django: an unreadable or malformed file is one line, and nothing is imported', async t => {
  const missing = join(scratch, 'missing.json')
  t.strictSame(await cli(['import-django', missing]), { code: 1, stdout: '', stderr: `Error: cannot read ${missing} (ENOENT)\n` })
  t.match(await cli(['import-django', '-'], '[{"model": "auth.user",'), { code: 1, stdout: '', stderr: /^Error: not valid JSON \(.+\); nothing was imported\n$/ })
  t.strictSame(await cli(['import-django', '-'], '{"model": "auth.user"}'),
    { code: 1, stdout: '', stderr: 'Error: expected the JSON array that manage.py dumpdata writes; nothing was imported\n' })
  // Three good records, then a bad one: the index names it, and the good ones are not imported either.
  const bad = await dumpFile('bad.json', [user(30, 'a', '!x'), user(31, 'b', '!x'), user(32, 'c', '!x', { is_staff: 'yes' })])
  t.strictSame(await cli(['import-django', bad]),
    { code: 1, stdout: '', stderr: 'Error: record 2: fields.is_staff must be true or false (got "yes"); nothing was imported\n' })
})

// ---------------------------------------------------------------------------------------------
// On the database, in order

t.test('import-django --dry-run: checks and counts, writes nothing', async t => {
  t.strictSame(await cli(['import-django', DUMP_FILE, '--dry-run']), {
    code: 0,
    stdout: FULL_IMPORT.replace('Imported 8 users, skipped 0, updated 0; new users get ids from 9 on.', 'Dry run: would import 8 users, skip 0, update 0; nothing was written.'),
    stderr: ''
  })
  t.strictSame(await cli(['listusers']), { code: 0, stdout: 'ID  USERNAME  NAME  EMAIL  ACTIVE  STAFF  SUPERUSER  LAST LOGIN\n', stderr: '' })
})

t.test('import-django FILE: every user of a real dumpdata, ids and hashes kept', async t => {
  t.strictSame(await cli(['import-django', DUMP_FILE]), { code: 0, stdout: FULL_IMPORT, stderr: '' })
  await withApp(async app => {
    for (const record of records) {
      const imported = await app.simplejwt.users.findById(record.pk)
      const f = record.fields
      t.match(imported, {
        id: record.pk,
        username: f.username,
        password: f.password,
        firstName: f.first_name,
        lastName: f.last_name,
        email: f.email,
        isActive: f.is_active,
        isStaff: f.is_staff,
        isSuperuser: f.is_superuser,
        lastLogin: f.last_login === null ? null : new Date(f.last_login as string),
        dateJoined: new Date(f.date_joined as string),
        tokensValidAfter: null
      }, `pk ${record.pk} ${f.username as string}`)
    }
  })
})

t.test('every imported user logs in with the password Django knew (and only with it)', async t => {
  await withApp(async app => {
    for (const record of records) {
      const username = record.fields.username as string
      const password = passwords[username]
      const active = record.fields.is_active as boolean
      t.equal((await login(app, username, `${password ?? ''}wrong`)).statusCode, 401, `${username}: a wrong password fails`)
      if (password === null) {
        t.equal((await login(app, username, 'anything')).statusCode, 401, `${username} has no usable password`)
        continue
      }
      const res = await login(app, username, password)
      t.equal(res.statusCode, active ? 200 : 401, `${username} ${active ? 'logs in' : 'is inactive'}`)
      if (!active) continue
      const hello = await app.inject({ method: 'GET', url: '/api/hello/', headers: bearer(res.json().access) })
      t.same(hello.json(), { msg: `Hello ${record.fields.first_name as string} ${record.fields.last_name as string}` })
      t.match((await app.simplejwt.users.findById(record.pk))?.password, /^argon2\$argon2id\$v=19\$m=19456,t=2,p=1\$/, 'rehashed at that login')
    }
  })
})

t.test('the id sequence continues after the largest imported id', async t => {
  t.strictSame(await cli(['createuser', 'newcomer', '--password-stdin'], 'new-pass-123\n'),
    { code: 0, stdout: 'Created user "newcomer" with id 9.\n', stderr: '' })
})

t.test('import-django again: skip by default; --on-conflict update from standard input', async t => {
  t.strictSame(await cli(['import-django', DUMP_FILE]), {
    code: 0,
    stdout: FULL_IMPORT.replace('Imported 8 users, skipped 0, updated 0; new users get ids from 9 on.', 'Imported 0 users, skipped 8, updated 0; new users get ids from 10 on.'),
    stderr: ''
  })
  const renamed = records.map(r => r.pk === 1 ? { ...r, fields: { ...r.fields, first_name: 'Miles', is_staff: true } } : r)
  const run = await cli(['import-django', '-', '--on-conflict', 'update'], JSON.stringify(renamed))
  t.equal(run.code, 0)
  t.equal(run.stdout.split('\n')[0], 'Imported 0 users, skipped 0, updated 8; new users get ids from 10 on.')
  await withApp(async app => {
    t.match(await app.simplejwt.users.findById(1), { username: 'spiderman', firstName: 'Miles', isStaff: true, password: records[0].fields.password }, 'the file wins, password included')
    t.equal((await login(app, 'spiderman', 'underoos')).statusCode, 200, 'still the same password')
    t.match(await app.simplejwt.users.findById(9), { username: 'newcomer' }, 'users not in the file are left alone')
  })
})

t.test('import-django refuses an id or a username that belongs to someone else here, and imports nothing', async t => {
  const takenName = await dumpFile('taken-name.json', [user(20, 'fresh', '!x'), user(21, 'spiderman', '!x')])
  t.strictSame(await cli(['import-django', takenName]), {
    code: 1, stdout: '', stderr: 'Error: record 1: username "spiderman" is already taken here by id 1, not pk 21; nothing was imported\n'
  })
  const takenId = await dumpFile('taken-id.json', [user(20, 'fresh', '!x'), user(9, 'someone-else', '!x')])
  for (const mode of ['skip', 'update']) {
    t.strictSame(await cli(['import-django', takenId, '--on-conflict', mode]), {
      code: 1, stdout: '', stderr: 'Error: record 1: pk 9 is already user "newcomer" here, not "someone-else"; nothing was imported\n'
    }, mode)
  }
  const duplicate = await dumpFile('duplicate.json', [user(22, 'twin', '!x'), user(23, 'twin', '!x')])
  t.strictSame(await cli(['import-django', duplicate]), {
    code: 1, stdout: '', stderr: 'Error: record 1: username "twin" already appears in record 0; nothing was imported\n'
  })
  await withApp(async app => {
    t.equal(await app.simplejwt.users.findById(20), undefined, 'the good record before the conflict was rolled back')
    t.equal(await app.simplejwt.users.findByUsername('fresh'), undefined)
  })
})

t.test('import-django --harden: no weak hash is stored; both layers verify, then a plain rehash', async t => {
  const weak = vectors.filter(v => ['sha1', 'md5', 'unsalted_sha1', 'unsalted_md5'].includes(v.hasher) && v.password === 'underoos')
  t.equal(weak.length, 4)
  const rows = [...weak.map((v, i) => user(40 + i, `weak-${v.hasher}`, v.encoded)), user(44, 'strong', vectors[0].encoded), user(45, 'odd', 'crypt$$abN0RUuEpiNnA')]
  const file = await dumpFile('weak.json', rows)

  const dry = await cli(['import-django', file, '--harden', '--dry-run'])
  t.equal(dry.code, 0)
  t.match(dry.stdout, /^ {2}sha1 +1 +would be wrapped as argon2_sha1 \(--harden\)$/m)

  const run = await cli(['import-django', file, '--harden'])
  t.strictSame(run, {
    code: 0,
    stdout: `Imported 6 users, skipped 0, updated 0; new users get ids from 46 on.
Password hashes:
  md5            1  wrapped as argon2_md5 (--harden)
  pbkdf2_sha256  1
  sha1           1  wrapped as argon2_sha1 (--harden)
  unknown        1
  unsalted_md5   1  wrapped as argon2_md5 (--harden)
  unsalted_sha1  1  wrapped as argon2_sha1 (--harden)
`,
    stderr: 'Warning: 1 user with a password hash that can never match; set a new password with changepassword:\n  pk 45 "odd": unknown hasher "crypt"\n'
  })
  await withApp(async app => {
    for (const [i, v] of weak.entries()) {
      const stored = (await app.simplejwt.users.findById(40 + i))?.password as string
      const wrapper = v.hasher.endsWith('sha1') ? 'argon2_sha1' : 'argon2_md5'
      t.match(stored, new RegExp(`^${wrapper}\\$[^$]*\\$argon2id\\$v=19\\$m=19456,t=2,p=1\\$`), `${v.hasher} is stored as ${wrapper}`)
      t.notOk(stored.includes(v.encoded.split('$').at(-1) as string), 'and the weak digest is not')
      t.equal((await login(app, `weak-${v.hasher}`, v.wrong_password)).statusCode, 401)
      t.equal((await login(app, `weak-${v.hasher}`, v.password)).statusCode, 200)
      t.match((await app.simplejwt.users.findById(40 + i))?.password, /^argon2\$argon2id\$v=19\$m=19456,t=2,p=1\$/, 'rehashed plainly at login')
    }
    t.equal((await app.simplejwt.users.findById(44))?.password, vectors[0].encoded, 'a strong hash is imported as it is')
    t.equal((await login(app, 'odd', 'anything')).statusCode, 401)
  })
})

t.test('import-django-blacklist: no user created here takes an id the dump\'s tokens name (a user Django deleted)', async t => {
  const now = Math.floor(Date.now() / 1000)
  const iso = (seconds: number) => new Date(seconds * 1000).toISOString()
  // User 9000 held a token in Django and was deleted there (the dump of users no longer has it).
  const file = await dumpFile('deleted-user-tokens.json', [
    { model: 'token_blacklist.outstandingtoken', pk: 1, fields: { user: 9000, jti: 'd'.repeat(32), token: 'x', created_at: iso(now - 60), expires_at: iso(now + 3600) } },
    { model: 'token_blacklist.outstandingtoken', pk: 2, fields: { user: null, jti: 'e'.repeat(32), token: 'x', created_at: iso(now - 60), expires_at: iso(now + 3600) } }
  ])
  t.equal((await cli(['import-django-blacklist', file, '--dry-run'])).code, 0)
  const afterDryRun = await cli(['createuser', 'floor-dry-run', '--password-stdin'], 'a long enough password\n')
  t.equal(afterDryRun.code, 0)
  const dryId = await withApp(async app => (await app.simplejwt.users.findByUsername('floor-dry-run'))?.id)
  t.ok(dryId !== undefined && dryId < 9000, 'a dry run moves nothing')
  const run = await cli(['import-django-blacklist', file])
  t.same([run.code, run.stderr], [0, ''])
  const created = await cli(['createuser', 'floor-newcomer', '--password-stdin'], 'a long enough password\n')
  t.same([created.code, created.stderr], [0, ''])
  t.equal(await withApp(async app => (await app.simplejwt.users.findByUsername('floor-newcomer'))?.id), 9001, 'the next id is past the deleted user\'s')
  t.equal((await cli(['import-django-blacklist', await dumpFile('lower.json', [
    { model: 'token_blacklist.outstandingtoken', pk: 1, fields: { user: 3, jti: 'f'.repeat(32), token: 'x', created_at: iso(now - 60), expires_at: iso(now + 3600) } }
  ])])).code, 0)
  t.equal((await cli(['createuser', 'floor-later', '--password-stdin'], 'a long enough password\n')).code, 0)
  t.equal(await withApp(async app => (await app.simplejwt.users.findByUsername('floor-later'))?.id), 9002, 'a lower floor never moves the sequence back')
  const bad = await cli(['import-django-blacklist', await dumpFile('bad-user.json', [
    { model: 'token_blacklist.outstandingtoken', pk: 1, fields: { user: 'nine', jti: 'g'.repeat(32), token: 'x', created_at: iso(now), expires_at: iso(now + 60) } }
  ])])
  t.same([bad.code, bad.stderr], [1, 'Error: record 0: fields.user must be a user\'s pk or null (got "nine"); nothing was imported\n'])
})

t.test('import-django-blacklist: what Django blacklisted is refused here too', async t => {
  const now = Math.floor(Date.now() / 1000)
  const userId = await withApp(async app => (await createUser(app, { username: 'logged-out-in-django' })).id)
  const jti = { out: 'a'.repeat(32), kept: 'b'.repeat(32), old: 'c'.repeat(32) }
  // Refresh tokens as simplejwt mints them, signed with the same key.
  const refresh = (id: string) => forge({ token_type: 'refresh', exp: now + 3600, iat: now - 60, jti: id, user_id: userId })
  const iso = (seconds: number) => new Date(seconds * 1000).toISOString()
  const outstanding = (pk: number, id: string, expires: number) => ({
    model: 'token_blacklist.outstandingtoken', pk, fields: { user: userId, jti: id, token: refresh(id), created_at: iso(now - 60), expires_at: iso(expires) }
  })
  const file = await dumpFile('token-blacklist.json', [
    outstanding(1, jti.out, now + 3600),
    outstanding(2, jti.kept, now + 3600),
    outstanding(3, jti.old, now - 10),
    { model: 'token_blacklist.blacklistedtoken', pk: 1, fields: { token: 1, blacklisted_at: iso(now - 30) } },
    { model: 'token_blacklist.blacklistedtoken', pk: 2, fields: { token: 3, blacklisted_at: iso(now - 20) } }
  ])
  const refreshWith = (app: FastifyInstance, id: string) => app.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh: refresh(id) } })

  const dry = await cli(['import-django-blacklist', file, '--dry-run'])
  t.same([dry.code, dry.stdout], [0, 'Dry run: would have 1 token blacklisted; 1 already expired, 0 already blacklisted here; nothing was written.\n'])
  t.equal(await withApp(async app => (await refreshWith(app, jti.out)).statusCode), 200, 'a dry run writes nothing')

  const run = await cli(['import-django-blacklist', file])
  t.same([run.code, run.stdout], [0, 'Imported from Django: 1 token blacklisted; 1 already expired, 0 already blacklisted here.\n'])
  await withApp(async app => {
    const out = await refreshWith(app, jti.out)
    t.same([out.statusCode, out.json().detail], [401, 'Token is blacklisted'], 'logged out in Django: refused here')
    t.equal((await refreshWith(app, jti.kept)).statusCode, 200, 'never blacklisted: accepted')
    const [row] = await app.simplejwt.db.select().from(blacklistedTokens).where(eq(blacklistedTokens.jti, jti.out))
    t.match(row, { reason: 'django', blacklistedAt: new Date((now - 30) * 1000), expiresAt: new Date((now + 3600) * 1000) })
  })

  const again = await cli(['import-django-blacklist', file])
  t.equal(again.stdout, 'Imported from Django: 0 tokens blacklisted; 1 already expired, 1 already blacklisted here.\n', 'running it twice changes nothing')

  const dangling = await cli(['import-django-blacklist', await dumpFile('dangling.json', [{ model: 'token_blacklist.blacklistedtoken', pk: 1, fields: { token: 9, blacklisted_at: iso(now) } }])])
  t.same([dangling.code, dangling.stderr], [1, 'Error: record 0: fields.token 9 names no outstanding token of the dump (dump the whole token_blacklist app); nothing was imported\n'])
  const users = await cli(['import-django-blacklist', DUMP_FILE])
  t.equal(users.code, 1)
  t.match(users.stderr, /^Error: record 0: model must be "token_blacklist.outstandingtoken" or "token_blacklist.blacklistedtoken" \(got "auth.user"\)/, 'a dump of users is not a blacklist')
  const usage = await cli(['import-django-blacklist'])
  t.equal(usage.code, 2)
})

// ---------------------------------------------------------------------------------------------
// Input as operators produce it (issue 17, item 4)

const AUTH_FILE = new URL('dumpdata-auth.json', fixtures).pathname
const ASTRAL_USERNAME = '\u{20BB7}'.repeat(150)

t.test('import-django: `dumpdata auth` saved as UTF-16 by Windows PowerShell 5.1\'s >, astral names and all', async t => {
  const auth = await readFile(AUTH_FILE, 'utf8')
  const file = join(scratch, 'powershell.json')
  await writeFile(file, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(auth, 'utf16le')]))
  const run = await cli(['import-django', file])
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /^Imported 3 users, skipped 0, updated 0;/)
  t.notMatch(run.stderr, /Error/)
  await withApp(async app => {
    t.match(await app.simplejwt.users.findById(102), { username: ASTRAL_USERNAME, firstName: '\u{1F577}'.repeat(150) })
    t.equal((await login(app, ASTRAL_USERNAME, 'underoos')).statusCode, 200, '150 astral letters log in')
    t.equal((await login(app, 'gwen', 'underoos')).statusCode, 200, 'a user with groups and permissions logs in')
    t.equal((await login(app, 'miles', 'boo-boo-1234')).statusCode, 200)
  })
})

t.test('import-django: a UTF-8 BOM from standard input; a file that is not UTF-8 is one clean line', async t => {
  const again = await cli(['import-django', '-'], `\uFEFF${dump}`)
  t.equal(again.code, 0, again.stderr)
  t.match(again.stdout, /^Imported 0 users, skipped 8, updated 0;/)
  const latin1 = join(scratch, 'latin1.json')
  await writeFile(latin1, Buffer.from(JSON.stringify([user(40, 'rene', '!x', { first_name: 'Ren\xe9' })], null, 2), 'latin1'))
  const refused = await cli(['import-django', latin1])
  t.equal(refused.code, 1)
  t.equal(refused.stderr.split('\n').length, 2, 'one line')
  t.match(refused.stderr, /^Error: \S+latin1\.json is not UTF-8 \(line 10 has a byte that is not; Latin-1 or Windows-1252\?\): export it again with dumpdata's -o option/)
  const other = await dumpFile('sessions.json', [user(41, 'x', '!x'), { model: 'sessions.session', pk: 'k', fields: {} }])
  t.match(await cli(['import-django', other]), { code: 1, stderr: /^Error: record 1: model "sessions.session" is not auth.user: dump the users with `manage.py dumpdata auth.user`/ })
})
