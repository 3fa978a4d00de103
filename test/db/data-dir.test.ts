// The embedded database's directory is its owner's alone (src/db/data-dir.ts): created 0700 with every
// file 0600 whatever the umask, an existing directory left readable by others is tightened at start
// (with a warning), and a directory of another user's is refused. Before, the directory was 0755 and
// PGlite's files 0666: any local user could read the password hashes and write the database.
import t from 'tap'
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import { DatabaseError, openDatabase } from '../../src/db/client.js'

const posix = process.platform === 'win32' ? 'file modes and owners are POSIX only' : false
const root = await mkdtemp(join(tmpdir(), 'fsj-data-dir-'))
t.teardown(() => rm(root, { recursive: true, force: true }))

/** Every entry under `dir` (symbolic links not followed) with its permission bits. */
async function modes (dir: string): Promise<Array<{ path: string, mode: number, directory: boolean }>> {
  const found = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name)
    const stats = await lstat(path)
    if (!stats.isSymbolicLink()) found.push({ path, mode: stats.mode & 0o777, directory: stats.isDirectory() })
  }
  return found
}

/** The entries that group or other users could read, write or enter. */
const loose = async (dir: string) => (await modes(dir)).filter(entry => (entry.mode & 0o077) !== 0).map(e => `${e.path} ${e.mode.toString(8)}`)

const dataDir = join(root, 'new', 'data')

t.test('a new embedded database: its directory 0700, every directory in it 0700, every file 0600, whatever the umask', { skip: posix }, async t => {
  // The loosest umask there is: the modes must not depend on it.
  const umask = process.umask(0)
  t.teardown(() => { process.umask(umask) })
  const warnings: string[] = []
  const database = await openDatabase(undefined, { dataDir, onWarning: message => warnings.push(message) })
  t.teardown(() => database.close())
  await database.migrate()
  await database.db.execute(sql`select 1`)
  t.equal((await stat(dataDir)).mode & 0o777, 0o700, 'DATA_DIR is 0700')
  t.equal((await stat(join(dataDir, 'fastify-simplejwt.lock'))).mode & 0o777, 0o600, 'the lock file is 0600')
  const entries = await modes(dataDir)
  t.ok(entries.length > 100, `PGlite's files are there (${entries.length})`)
  t.same(await loose(dataDir), [], 'nothing under it has a group or other bit')
  t.same(warnings, [], 'a new directory is no reason to warn')
})

t.test('an existing directory left 0755 with files 0666 is tightened at start, with a warning', { skip: posix }, async t => {
  // The layout this service made before: loosen what the previous test created.
  await chmod(dataDir, 0o755)
  for (const entry of await modes(dataDir)) await chmod(entry.path, entry.directory ? 0o755 : 0o666)
  t.ok((await loose(dataDir)).length > 100, 'loose to begin with')
  // A symbolic link inside is not followed: its target outside DATA_DIR keeps its mode.
  const outside = join(root, 'outside.txt')
  await writeFile(outside, 'not the database')
  await chmod(outside, 0o644)
  await symlink(outside, join(dataDir, 'a-link'))

  const warnings: string[] = []
  const database = await openDatabase(undefined, { dataDir, onWarning: message => warnings.push(message) })
  t.teardown(() => database.close())
  t.equal((await stat(dataDir)).mode & 0o777, 0o700, 'DATA_DIR is 0700 again')
  t.same(await loose(dataDir), [], 'every file 0600, every directory 0700')
  t.equal((await stat(outside)).mode & 0o777, 0o644, 'the link was not followed')
  t.equal(warnings.length, 1, 'one warning')
  t.match(warnings[0], /readable by other users: \d+ files and directories made owner-only/)
  await database.migrate()
  await database.db.execute(sql`select 1`)
})

// Giving a directory to another user (chown) needs root; the refusal itself runs as any user.
const chownable = posix !== false ? posix : process.geteuid?.() === 0 ? false : 'needs root to give a directory to another user (chown)'

t.test("a directory of another user's is refused with a clear message", { skip: chownable }, async t => {
  const foreign = join(root, 'foreign')
  await mkdir(foreign, { mode: 0o700 })
  await chown(foreign, 12345, 12345)
  await t.rejects(openDatabase(undefined, { dataDir: foreign }), {
    constructor: DatabaseError,
    message: /belongs to user 12345, and this process runs as user 0: run the service as the owner of DATA_DIR/
  })

  // A file of another user's inside one's own directory: refused too, before PGlite opens anything.
  const planted = join(root, 'planted')
  await mkdir(join(planted, 'base'), { recursive: true, mode: 0o700 })
  await writeFile(join(planted, 'base', 'x'), '')
  await chown(join(planted, 'base', 'x'), 12345, 12345)
  await t.rejects(openDatabase(undefined, { dataDir: planted }), { constructor: DatabaseError, message: /base\/x belongs to user 12345/ })
  t.same(await readdir(planted), ['base'], 'no lock file left, nothing created')
})
