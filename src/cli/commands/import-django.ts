// `import-django FILE [--on-conflict skip|update] [--dry-run] [--harden]`: the users of `manage.py dumpdata auth.user`
import { loadConfig } from '../../domain/settings.js'
import { hardenUsers, hashBreakdown, readDumpdata } from '../../domain/dumpdata.js'
import { CliError, plural, readInput, table, usageError, type Command } from '../io.js'
import { withStores } from '../stores.js'

/** What --harden wraps each weak legacy hasher in (src/domain/passwords.ts hardenHash). */
const HARDENED_AS: Record<string, string> = { sha1: 'argon2_sha1', unsalted_sha1: 'argon2_sha1', md5: 'argon2_md5', unsalted_md5: 'argon2_md5' }

/**
 * Reads and checks the whole dump before the database is opened (a malformed record aborts with its
 * index), wraps weak hashes with --harden, then imports in one transaction.
 */
export const importDjango: Command = async (args, options, io) => {
  const onConflict = options['on-conflict'] ?? 'skip'
  if (args.length !== 1) throw usageError('import-django needs one FILE (- for standard input)')
  if (onConflict !== 'skip' && onConflict !== 'update') throw new CliError('--on-conflict must be skip or update', 2)
  const dryRun = options['dry-run'] === true
  const harden = options.harden === true
  const config = loadConfig(io.env)

  const { users: rows, renamed } = readDumpdata(await readInput(args[0], io))
  const { counts, neverMatch } = hashBreakdown(rows)
  // Hashed before the database is opened: thousands of argon2id hashes must not hold it.
  if (harden && !dryRun) await hardenUsers(rows)
  const { imported, skipped, updated, nextId } = await withStores(config, ({ users }) => users.importUsers(rows, { onConflict, dryRun }))

  const lines = [dryRun
    ? `Dry run: would import ${plural(imported, 'user')}, skip ${skipped}, update ${updated}; nothing was written.`
    : `Imported ${plural(imported, 'user')}, skipped ${skipped}, updated ${updated}; new users get ids from ${nextId} on.`]
  if (rows.length > 0) {
    lines.push('Password hashes:')
    const breakdown = [...counts].sort(([a, x], [b, y]) => y - x || a.localeCompare(b)).map(([kind, count]) => {
      let note = ''
      if (kind === 'unusable') note = 'never matches (unusable in Django too)'
      else if (harden && HARDENED_AS[kind] !== undefined) note = `${dryRun ? 'would be wrapped' : 'wrapped'} as ${HARDENED_AS[kind]} (--harden)`
      return [`  ${kind}`, String(count), note]
    })
    lines.push(table(breakdown).trimEnd())
  }
  io.stdout.write(lines.join('\n') + '\n')
  if (renamed.length > 0) {
    const listed = renamed.slice(0, 20).map(user => `  pk ${user.id} ${JSON.stringify(user.from)} as ${JSON.stringify(user.to)}`)
    if (renamed.length > 20) listed.push(`  … and ${renamed.length - 20} more`)
    io.stderr.write(`Note: ${plural(renamed.length, 'username')} NFKC-normalised, as Django's normalize_username does (they log in under either spelling):\n${listed.join('\n')}\n`)
  }
  if (neverMatch.length > 0) {
    const listed = neverMatch.slice(0, 20).map(user => `  pk ${user.id} ${JSON.stringify(user.username)}: ${user.reason}`)
    if (neverMatch.length > 20) listed.push(`  … and ${neverMatch.length - 20} more`)
    io.stderr.write(`Warning: ${plural(neverMatch.length, 'user')} with a password hash that can never match; set a new password with changepassword:\n${listed.join('\n')}\n`)
  }
  return 0
}
