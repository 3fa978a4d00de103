// `import-django FILE [--on-conflict skip|update] [--dry-run] [--harden]`: the users of `manage.py dumpdata auth.user`;
// `import-django FILE --sync [--delete-absent] [--blacklist FILE]`: the users made equal to the dump (the cutover's last step).
import { loadConfig } from '../../domain/settings.js'
import { hardenUsers, hashBreakdown, ignoredNote, readBlacklistDump, readDumpdata, type DjangoBlacklistedToken, type DjangoUser } from '../../domain/dumpdata.js'
import { reportForEmpty, schemaState, syncDjangoUsers, type SyncReport } from '../../db/django-sync.js'
import { CliError, plural, readInput, table, usageError, type CliOptions, type Command } from '../io.js'
import { withStores } from '../stores.js'

/** What --harden wraps each weak legacy hasher in (src/domain/passwords.ts hardenHash). */
const HARDENED_AS: Record<string, string> = { sha1: 'argon2_sha1', unsalted_sha1: 'argon2_sha1', md5: 'argon2_md5', unsalted_md5: 'argon2_md5' }

/**
 * Reads and checks the whole dump before the database is opened (a malformed record aborts with its
 * index), wraps weak hashes with --harden, then imports in one transaction.
 */
export const importDjango: Command = async (args, options, io) => {
  const onConflict = options['on-conflict']
  if (args.length !== 1) throw usageError('import-django needs one FILE (- for standard input)')
  if (onConflict !== undefined && onConflict !== 'skip' && onConflict !== 'update') throw new CliError('--on-conflict must be skip or update', 2)
  const sync = options.sync === true
  if (sync && onConflict !== undefined) throw usageError('--sync updates every user: --on-conflict does not apply')
  if (!sync && (options['delete-absent'] === true || options.blacklist !== undefined)) throw usageError('--delete-absent and --blacklist go with --sync')
  if (options.blacklist === '-' && args[0] === '-') throw usageError('only one of FILE and --blacklist can be standard input')
  const dryRun = options['dry-run'] === true
  const harden = options.harden === true
  const config = loadConfig(io.env, { signs: false })

  const { users: rows, renamed, ignored } = readDumpdata(await readInput(args[0], io))
  const blacklistDump = options.blacklist === undefined ? undefined : readBlacklistDump(await readInput(options.blacklist, io))
  const { counts, neverMatch } = hashBreakdown(rows)
  // Django's hashes as it holds them, before --harden wraps the weak ones (what --sync compares with).
  const synced = rows.map(row => ({ ...row, djangoPassword: row.password }))
  // Hashed before the database is opened: thousands of argon2id hashes must not hold it.
  if (harden && !dryRun) await hardenUsers(synced)
  // A dry run writes nothing, not even the schema: against a database without it, everything is new.
  const lines = sync
    ? syncSummary(await runSync(config, synced, { dryRun, blacklist: blacklistDump?.tokens, idFloor: blacklistDump?.largestUserId ?? 0, absent: options['delete-absent'] === true ? 'delete' : 'deactivate' }), dryRun, options)
    : importSummary(await runImport(config, synced, onConflict ?? 'skip', dryRun), dryRun)
  if (rows.length > 0 && !sync) {
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
  // `dumpdata auth`: its groups and permissions mean nothing here, said in one line.
  const note = ignoredNote(ignored)
  if (note !== undefined) io.stderr.write(`${note}\n`)
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

type Config = ReturnType<typeof loadConfig>

async function runImport (config: Config, rows: DjangoUser[], onConflict: 'skip' | 'update', dryRun: boolean) {
  return withStores(config, async ({ database, users }) => {
    if (dryRun && await schemaState(database.db) === 'missing') {
      return { imported: rows.length, skipped: 0, updated: 0, nextId: Math.max(0, ...rows.map(row => row.id)) + 1 }
    }
    return users.importUsers(rows, { onConflict, dryRun })
  }, { migrate: dryRun ? false : undefined })
}

function importSummary ({ imported, skipped, updated, nextId }: { imported: number, skipped: number, updated: number, nextId: number }, dryRun: boolean): string[] {
  return [dryRun
    ? `Dry run: would import ${plural(imported, 'user')}, skip ${skipped}, update ${updated}; nothing was written.`
    : `Imported ${plural(imported, 'user')}, skipped ${skipped}, updated ${updated}; new users get ids from ${nextId} on.`]
}

async function runSync (config: Config, rows: Array<DjangoUser & { djangoPassword: string }>, options: { dryRun: boolean, blacklist: DjangoBlacklistedToken[] | undefined, idFloor: number, absent: 'deactivate' | 'delete' }): Promise<SyncReport> {
  const now = new Date()
  return withStores(config, async ({ database }) => {
    if (options.dryRun) {
      const state = await schemaState(database.db)
      if (state === 'missing') return reportForEmpty(rows, options.blacklist, now)
      if (state === 'outdated') throw new CliError('the database\'s tables are older than this version: run "fastify-simplejwt migrate" first (a dry run changes nothing, not even the schema)', 1)
    }
    return syncDjangoUsers(database.db, rows, { ...options, now })
  }, { migrate: options.dryRun ? false : undefined })
}

/** The sync's report: one line of totals, then a line per kind of change, with the first users named. */
function syncSummary (report: SyncReport, dryRun: boolean, options: CliOptions): string[] {
  const named = (ids: number[]) => ids.length === 0 ? '' : ` (${ids.slice(0, 10).map(id => `pk ${id}`).join(', ')}${ids.length > 10 ? `, … ${ids.length - 10} more` : ''})`
  const { changed } = report
  const updated = new Set(Object.values(changed).flat()).size
  const absent = options['delete-absent'] === true ? 'deleted' : 'deactivated'
  const lines = [`${dryRun ? 'Dry run: would create' : 'Created'} ${plural(report.created.length, 'user')}, ${dryRun ? 'update' : 'updated'} ${updated}, ${dryRun ? 'leave' : 'left'} ${report.unchanged} unchanged; ${report.absent.length} absent from the dump ${dryRun ? 'would be' : 'were'} ${absent}${report.empty ? ' (the database has no tables yet)' : ''}.`]
  const kinds: Array<[string, number[]]> = [
    ['password changed at Django (its tokens revoked)', changed.password],
    ['deactivated (its tokens revoked)', changed.deactivated],
    ['reactivated', changed.reactivated],
    ['staff status removed', changed.staffRemoved],
    ['staff status granted', changed.staffGranted],
    ['superuser status removed', changed.superuserRemoved],
    ['superuser status granted', changed.superuserGranted],
    ['renamed', changed.renamed],
    ['names, email, dates changed', changed.details]
  ]
  for (const [what, ids] of kinds) if (ids.length > 0) lines.push(`  ${String(ids.length).padStart(5)}  ${what}${named(ids)}`)
  if (report.absent.length > 0) {
    const listed = report.absent.slice(0, 10).map(user => `pk ${user.id} ${JSON.stringify(user.username)}`).join(', ')
    lines.push(`  ${String(report.absent.length).padStart(5)}  absent from the dump, ${options['delete-absent'] === true ? 'deleted' : 'deactivated'} (its tokens revoked): ${listed}${report.absent.length > 10 ? ', …' : ''}`)
  }
  lines.push(`Tokens revoked for ${plural(report.revoked.length, 'user')}.`)
  if (report.blacklist !== undefined) {
    lines.push(`Blacklist from Django: ${plural(report.blacklist.imported, 'token')} blacklisted; ${report.blacklist.expired} already expired, ${report.blacklist.present} already blacklisted here.`)
  }
  lines.push(dryRun ? 'Nothing was written.' : `All in one transaction; new users get ids from ${report.nextId} on.`)
  return lines
}
