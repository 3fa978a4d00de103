// The embedded database's directory is its owner's alone: 0700, every directory in it 0700 and every
// file 0600. It holds the password hashes and the development signing key, so on a shared host
// another local user must not read it, let alone write it.
//
// Why chmod rather than the umask: PGlite's file system (Emscripten's NODEFS) chmods each file it
// creates to the mode it was asked for, whatever process.umask() says, and the files of a new
// database (initdb's) come out 0666. So the data directory is made 0700 before PGlite writes into
// it (nobody else can reach anything inside from then on), and the tree is walked to tighten what
// PGlite and earlier versions of this service left loose. Files PostgreSQL creates later (new
// relations, WAL segments) are 0600 already: it sets its own umask of 077.
import { chmod, lstat, mkdir, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'

const DIR_MODE = 0o700
const FILE_MODE = 0o600
/** Group and other bits: none may be set. */
const LOOSE = 0o077

/** True where POSIX modes and owners mean something (not on Windows). */
const POSIX = process.platform !== 'win32'

/**
 * Creates `dir` 0700 (or checks an existing one): it must be a directory owned by this process's
 * user (a directory of another user's is refused: its owner could read or swap the database), and is
 * made 0700 if it was looser. Returns whether it had to be tightened.
 */
export async function secureDataDir (dir: string): Promise<boolean> {
  await mkdir(dir, { recursive: true, mode: DIR_MODE })
  const stats = await stat(dir)
  if (!stats.isDirectory()) throw new Error(`${dir} is not a directory`)
  if (!POSIX) return false
  checkOwner(dir, stats.uid)
  if ((stats.mode & LOOSE) === 0) return false
  await chmod(dir, DIR_MODE)
  return true
}

/**
 * Walks the tree under `dir` (without following symbolic links, so it ends) and takes the group and
 * other bits off every directory (0700) and file (0600) that has any. Every entry must belong to this
 * process's user. Returns how many entries it changed.
 */
export async function tightenDataDir (dir: string): Promise<number> {
  if (!POSIX) return 0
  let changed = 0
  const pending = [dir]
  // One directory at a time, its entries together (libuv's thread pool bounds how many run at once).
  for (let current = pending.pop(); current !== undefined; current = pending.pop()) {
    const entries = (await readdir(current, { withFileTypes: true })).filter(entry => !entry.isSymbolicLink())
    await Promise.all(entries.map(async entry => {
      const path = join(current, entry.name)
      const stats = await lstat(path)
      checkOwner(path, stats.uid)
      if (stats.isDirectory()) pending.push(path)
      if ((stats.mode & LOOSE) === 0) return
      await chmod(path, stats.isDirectory() ? DIR_MODE : FILE_MODE)
      changed++
    }))
  }
  return changed
}

function checkOwner (path: string, uid: number): void {
  const self = process.geteuid?.()
  if (self === undefined || uid === self) return
  throw new Error(`${path} belongs to user ${uid}, and this process runs as user ${self}: ` +
    'run the service as the owner of DATA_DIR, or give the directory to this user (chown -R)')
}
