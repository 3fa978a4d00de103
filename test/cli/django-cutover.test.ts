// The cutover of docs/migrating-from-django.md, rehearsed on Django's own dump (issue 17): first
// import, the service used during the window (logins, rehashes, tokens), what Django changes
// meanwhile (a password, a deactivation, a staff flag, a deletion, a new user, a reactivation, new
// logouts), then the final `import-django --sync --blacklist`; every user and token meets the fate
// the runbook promises. On PGlite under a DATA_DIR, or on PostgreSQL with TEST_DATABASE_URL.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { sql } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { openDatabase } from '../../src/db/client.js'
import { bearer, build, Clock, cliDatabase, forge, type TestLike } from '../helper.js'
import { cliRunner } from '../helpers/cli.js'
import { emptyDatabaseUrl } from '../setup/databases.js'

interface DumpRecord { model: string, pk: number, fields: Record<string, unknown> }
interface Vector { hasher: string, password: string, encoded: string }
const fixtures = new URL('../fixtures/', import.meta.url)
const records = JSON.parse(await readFile(new URL('dumpdata-auth-user.json', fixtures), 'utf8')) as DumpRecord[]
const vectors = (JSON.parse(await readFile(new URL('django-hashes.json', fixtures), 'utf8')) as { vectors: Vector[] }).vectors
const newPassword = vectors.find(vector => vector.hasher === 'pbkdf2_sha256') as Vector

const scratch = await mkdtemp(join(tmpdir(), 'fsj-cutover-'))
t.teardown(() => rm(scratch, { recursive: true, force: true }))
const { env, openAppDatabase } = await cliDatabase(t, join(scratch, 'data'))
const cli = cliRunner(env)
// The service's clock: now, so that the sync's cut-off (the real time of the sync) falls after the
// window's tokens; moved past it before the logins that follow the sync.
const clock = new Clock(Date.now())

async function file (name: string, content: unknown): Promise<string> {
  const path = join(scratch, name)
  await writeFile(path, JSON.stringify(content, null, 2))
  return path
}

/** The service on the CLI's database, opened after the CLI has closed it, closed before returning. */
async function withApp<T> (fn: (app: FastifyInstance) => Promise<T>): Promise<T> {
  const teardowns: Array<() => unknown> = []
  const local: TestLike = { teardown: fn => { teardowns.push(fn) } }
  const database = await openAppDatabase()
  try {
    return await fn(await build(local, {}, { database, clock }))
  } finally {
    for (const teardown of teardowns.reverse()) await teardown()
    await database.close()
  }
}

const login = (app: FastifyInstance, username: string, password: string) =>
  app.inject({ method: 'POST', url: '/api/token/', payload: { username, password } })
const hello = (app: FastifyInstance, access: string) => app.inject({ url: '/api/hello/', headers: bearer(access) })
const refresh = (app: FastifyInstance, token: string) => app.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh: token } })

/** A refresh token as Django's simplejwt mints it, with the same key. */
const djangoRefresh = (userId: number, jti: string) => forge({ token_type: 'refresh', exp: clock.seconds + 86_400, iat: clock.seconds - 60, jti, user_id: userId })

/** The dump as Django holds it at the end of the window. */
function djangoAtTheSwitch (): DumpRecord[] {
  const changed = structuredClone(records).filter(record => record.fields.username !== 'old.legacy')
  const byName = (name: string) => changed.find(record => record.fields.username === name) as DumpRecord
  byName('mj').fields.password = newPassword.encoded
  byName('ned').fields.is_active = false
  byName('admin').fields.is_staff = false
  byName('ghost').fields.is_active = true
  byName('spiderman').fields.email = 'spidey@example.com'
  changed.push({ model: 'auth.user', pk: 9, fields: { ...byName('spiderman').fields, username: 'miles', first_name: 'Miles', last_name: 'Morales', email: '', password: newPassword.encoded } })
  return changed
}

t.test('the rehearsed cutover: first import, the window, the final sync', async t => {
  const first = await cli(['import-django', await file('users.json', records)])
  t.equal(first.code, 0, first.stderr)

  // The window: both systems run. Users log in here (their Django hashes are rehashed to argon2id).
  const window = await withApp(async app => {
    const tokens: Record<string, { access: string, refresh: string }> = {}
    for (const [username, password] of [['spiderman', 'underoos'], ['mj', 'tiger-lily'], ['ned', 'guy-in-the-chair'], ['admin', 'admin-pass-123'], ['old.legacy', 'legacy-pw']]) {
      const answer = await login(app, username, password)
      t.equal(answer.statusCode, 200, `${username} logs in here during the window`)
      tokens[username] = answer.json()
    }
    const loggedOut = djangoRefresh(1, 'django-logout-in-the-window')
    t.equal((await refresh(app, loggedOut)).statusCode, 200, 'a Django refresh token works here before the sync')
    return { tokens, loggedOut }
  })

  // Django's last state, and its blacklist (a logout at Django during the window).
  const usersFile = await file('users-final.json', djangoAtTheSwitch())
  const blacklistFile = await file('blacklist-final.json', [
    { model: 'token_blacklist.outstandingtoken', pk: 1, fields: { user: 1, jti: 'django-logout-in-the-window', token: window.loggedOut, created_at: new Date(clock.ms - 60_000).toISOString(), expires_at: new Date(clock.ms + 86_400_000).toISOString() } },
    { model: 'token_blacklist.blacklistedtoken', pk: 1, fields: { token: 1, blacklisted_at: new Date(clock.ms).toISOString() } }
  ])

  const dry = await cli(['import-django', usersFile, '--sync', '--blacklist', blacklistFile, '--dry-run'])
  t.equal(dry.code, 0, dry.stderr)
  t.match(dry.stdout, /^Dry run: would create 1 user, update 5, leave 2 unchanged; 1 absent from the dump would be deactivated\./)
  t.match(dry.stdout, /Nothing was written\./)
  await withApp(async app => {
    t.equal((await login(app, 'mj', 'tiger-lily')).statusCode, 200, 'the dry run changed nothing')
  })

  const sync = await cli(['import-django', usersFile, '--sync', '--blacklist', blacklistFile])
  t.equal(sync.code, 0, sync.stderr)
  t.match(sync.stdout, /^Created 1 user, updated 5, left 2 unchanged; 1 absent from the dump were deactivated\./)
  t.match(sync.stdout, /1 +password changed at Django \(its tokens revoked\) \(pk 4\)/)
  t.match(sync.stdout, /1 +deactivated \(its tokens revoked\) \(pk 5\)/)
  t.match(sync.stdout, /1 +reactivated \(pk 2\)/)
  t.match(sync.stdout, /1 +staff status removed \(pk 3\)/)
  t.match(sync.stdout, /1 +names, email, dates changed \(pk 1\)/)
  t.match(sync.stdout, /absent from the dump, deactivated \(its tokens revoked\): pk 6 "old.legacy"/)
  t.match(sync.stdout, /Tokens revoked for 3 users\./)
  t.match(sync.stdout, /Blacklist from Django: 1 token blacklisted; 0 already expired, 0 already blacklisted here\./)
  t.match(sync.stdout, /All in one transaction; new users get ids from 10 on\./)
  clock.ms = Date.now() + 2000

  await withApp(async app => {
    const { tokens } = window
    // Unchanged at Django, rehashed here: the password and the window's tokens keep working.
    t.equal((await login(app, 'spiderman', 'underoos')).statusCode, 200, 'spiderman: rehashed here, unchanged at Django: still logs in')
    t.equal((await hello(app, tokens.spiderman.access)).statusCode, 200, 'and his tokens from the window still work')
    t.equal((await refresh(app, tokens.spiderman.refresh)).statusCode, 200)
    // A password changed at Django: the new one works, the old one and every earlier token do not.
    t.equal((await login(app, 'mj', 'tiger-lily')).statusCode, 401, 'mj: the old password is refused')
    t.equal((await login(app, 'mj', newPassword.password)).statusCode, 200, 'the password set at Django works')
    t.equal((await hello(app, tokens.mj.access)).statusCode, 401, 'her earlier access token is refused')
    t.equal((await refresh(app, tokens.mj.refresh)).statusCode, 401, 'and her earlier refresh token')
    // Deactivated at Django.
    t.equal((await login(app, 'ned', 'guy-in-the-chair')).statusCode, 401, 'ned: deactivated at Django, refused here')
    t.equal((await hello(app, tokens.ned.access)).statusCode, 401)
    t.equal((await refresh(app, tokens.ned.refresh)).statusCode, 401)
    // Deleted at Django: deactivated here, its tokens refused.
    t.equal((await login(app, 'old.legacy', 'legacy-pw')).statusCode, 401, 'old.legacy: deleted at Django, refused here')
    t.equal((await hello(app, tokens['old.legacy'].access)).statusCode, 401)
    // Staff removed at Django: the admin API refuses the earlier token; the user is otherwise untouched.
    t.equal((await app.inject({ url: '/api/admin/users/', headers: bearer(tokens.admin.access) })).statusCode, 403, 'admin: staff removed at Django, the admin API refuses')
    t.equal((await hello(app, tokens.admin.access)).statusCode, 200, 'his token still opens the rest, as at Django')
    // Reactivated and created at Django.
    t.equal((await login(app, 'ghost', 'boo-boo-1234')).statusCode, 200, 'ghost: reactivated at Django, logs in')
    const miles = await login(app, 'miles', newPassword.password)
    t.equal(miles.statusCode, 200, 'miles: created at Django during the window, logs in')
    // Logged out at Django during the window.
    t.equal((await refresh(app, window.loggedOut)).statusCode, 401, 'a refresh token blacklisted at Django is refused here')
    const user = await app.simplejwt.users.findByUsername('spiderman')
    t.equal(user?.email, 'spidey@example.com', 'details changed at Django carried over')
  })

  const again = await cli(['import-django', usersFile, '--sync', '--blacklist', blacklistFile])
  t.match(again.stdout, /^Created 0 users, updated 0, left 8 unchanged; 1 absent from the dump were deactivated\./, 'a second sync finds nothing left to carry over')
})

t.test('--delete-absent: a user deleted at Django goes, and a name Django gave again is the new user\'s', async t => {
  const { env, openAppDatabase } = await cliDatabase(t, join(scratch, 'data-delete'))
  const cli = cliRunner(env)
  const first = await cli(['import-django', await file('users-delete.json', records)])
  t.equal(first.code, 0, first.stderr)
  const reused = structuredClone(records)
  const legacy = reused.find(record => record.fields.username === 'old.legacy') as DumpRecord
  legacy.pk = 20
  legacy.fields.password = newPassword.encoded
  const path = await file('users-reused.json', reused)
  const refused = await cli(['import-django', path, '--sync'])
  t.equal(refused.code, 1)
  t.match(refused.stderr, /username "old\.legacy" is held here by id 6, which the dump no longer has: sync with --delete-absent/)
  const deleted = await cli(['import-django', path, '--sync', '--delete-absent'])
  t.equal(deleted.code, 0, deleted.stderr)
  t.match(deleted.stdout, /^Created 1 user, updated 0, left 7 unchanged; 1 absent from the dump were deleted\./)
  const database = await openAppDatabase()
  try {
    const rows = await database.db.execute(sql`select id from simplejwt.users where username = 'old.legacy'`)
    const [row] = (Array.isArray(rows) ? rows : (rows as unknown as { rows: unknown[] }).rows) as Array<{ id: number }>
    t.equal(row.id, 20, 'the name is the new user\'s')
  } finally {
    await database.close()
  }
  const next = await cli(['createuser', 'after', '--password-stdin'], 'a-long-enough-password-1\n')
  t.equal(next.code, 0, next.stderr)
  t.match((await cli(['listusers'])).stdout, /\b21 [^\n]*after/, 'no id of a deleted user is ever handed out again')
})

t.test('a dry run on a database without tables creates nothing, not even the schema', async t => {
  // A database of its own without any table: an empty DATA_DIR, or an empty PostgreSQL database.
  const url = await emptyDatabaseUrl(fn => t.teardown(fn))
  const dataDir = join(scratch, 'data-dry')
  const cli = cliRunner(url === undefined ? { DATA_DIR: dataDir } : { DATABASE_URL: url })
  const dry = await cli(['import-django', await file('users-dry.json', records), '--sync', '--dry-run'])
  t.equal(dry.code, 0, dry.stderr)
  t.match(dry.stdout, /^Dry run: would create 8 users, update 0, leave 0 unchanged; 0 absent from the dump would be deactivated \(the database has no tables yet\)\./)
  const plain = await cli(['import-django', await file('users-dry.json', records), '--dry-run'])
  t.match(plain.stdout, /^Dry run: would import 8 users, skip 0, update 0; nothing was written\./)
  const database = await openDatabase(url, { dataDir })
  try {
    const rows = await database.db.execute(sql`select to_regnamespace('simplejwt')::text as schema`)
    const [row] = (Array.isArray(rows) ? rows : (rows as unknown as { rows: unknown[] }).rows) as Array<{ schema: string | null }>
    t.equal(row.schema, null, 'no simplejwt schema')
  } finally {
    await database.close()
  }
})
