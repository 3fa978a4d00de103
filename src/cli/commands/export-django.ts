// `export-django [FILE]`: every user as `manage.py dumpdata auth.user` writes it, for `manage.py loaddata` (a way back)
import { open, rm } from 'node:fs/promises'
import { loadConfig } from '../../domain/settings.js'
import { hashBreakdown } from '../../domain/dumpdata.js'
import { exportNotes, writeDumpdata } from '../../domain/dumpdata-export.js'
import { CliError, plural, usageError, type CliIo, type Command } from '../io.js'
import { withStores } from '../stores.js'

/** Writes a new file readable by its owner only (it holds password hashes); never replaces one. */
async function writeNewFile (file: string, text: string): Promise<void> {
  let handle
  try {
    handle = await open(file, 'wx', 0o600)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') throw new CliError(`${file} already exists; remove it or name another file`)
    throw new CliError(`cannot write ${file} (${code ?? (err as Error).message})`)
  }
  try {
    await handle.writeFile(text, 'utf8')
    await handle.close()
  } catch (err) {
    await handle.close().catch(() => {})
    await rm(file, { force: true })
    throw new CliError(`cannot write ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
}

async function writeStdout (io: CliIo, text: string): Promise<void> {
  await new Promise<void>((resolve, reject) => io.stdout.write(text, err => err == null ? resolve() : reject(err)))
}

/**
 * Reads every user in one query, then writes the dump to FILE (created with mode 0600, never
 * overwritten) or standard output (no FILE, or -). The summary and the warnings go to stderr.
 */
export const exportDjango: Command = async (args, _options, io) => {
  if (args.length > 1) throw usageError('export-django takes at most one FILE (- or none for standard output)')
  const file = args[0] ?? '-'
  const users = await withStores(loadConfig(io.env, { signs: false }), ({ users }) => users.list())
  const text = writeDumpdata(users)
  if (file === '-') await writeStdout(io, text)
  else await writeNewFile(file, text)

  const { counts } = hashBreakdown(users)
  const breakdown = [...counts].sort(([a, x], [b, y]) => y - x || a.localeCompare(b)).map(([kind, count]) => `${kind} ${count}`)
  io.stderr.write(`Exported ${plural(users.length, 'user')}${file === '-' ? '' : ` to ${file}`}${breakdown.length > 0 ? `; password hashes: ${breakdown.join(', ')}` : ''}.\n`)

  const { unknownToDjango, tokenCutoffs } = exportNotes(users)
  if (unknownToDjango.length > 0) {
    const listed = unknownToDjango.slice(0, 20).map(user => `  pk ${user.id} ${JSON.stringify(user.username)}: ${user.reason}`)
    if (unknownToDjango.length > 20) listed.push(`  … and ${unknownToDjango.length - 20} more`)
    io.stderr.write(`Warning: ${plural(unknownToDjango.length, 'user')} with a hash that Django cannot check (exported as is; every password fails there until it is reset). Before the rollback, have them log in here once (their hash becomes argon2id) and export again; after it, reset their passwords at Django (password reset, or manage.py changepassword):\n${listed.join('\n')}\n`)
  }
  if (tokenCutoffs > 0) {
    io.stderr.write(`Note: ${plural(tokenCutoffs, 'user')} with a token cut-off here (log out everywhere, a new password, a deactivation); Django has none, so their tokens issued before it are accepted there again until they expire (tokens blacklisted here too): change the signing key at the rollback to end every session.\n`)
  }
  return 0
}
