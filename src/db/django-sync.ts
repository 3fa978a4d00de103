// `import-django --sync`: the users (and, given, the blacklist) made equal to a Django dump in one
// transaction, for the final step of a cutover: what Django changed during the switch window —
// passwords, deactivations, flags, names, users deleted — carries over, and every token that the
// change should end is ended here.
import { eq, inArray, sql, TransactionRollbackError } from 'drizzle-orm'
import { outstandingTokens, SCHEMA, users, type User } from './schema.js'
import { endImport } from './users.js'
import type { Db } from './client.js'
import { blacklistOutstanding, insertDjangoBlacklist, type Tx } from './tokens.js'
import { ImportConflict, type DjangoBlacklistedToken, type DjangoUser } from '../domain/dumpdata.js'

/** What happens to users here that the dump no longer has (deleted at Django). */
export type AbsentPolicy = 'deactivate' | 'delete'

/** A user of the dump, with the hash Django holds when the one to store differs (`--harden`). */
export type SyncedUser = DjangoUser & { djangoPassword?: string }

export interface SyncOptions {
  absent: AbsentPolicy
  dryRun: boolean
  /** The cut-off of the revocations this sync makes, and what decides which blacklisted tokens expired. */
  now: Date
  /** Django's blacklisted tokens, imported in the same transaction. */
  blacklist?: DjangoBlacklistedToken[] | undefined
  /** No id up to this one is handed out here afterwards (the largest user id Django's tokens name). */
  idFloor?: number
}

export interface SyncReport {
  created: number[]
  unchanged: number
  /** Users updated, by what changed (a user may count under several). */
  changed: {
    password: number[]
    deactivated: number[]
    reactivated: number[]
    staffRemoved: number[]
    staffGranted: number[]
    superuserRemoved: number[]
    superuserGranted: number[]
    renamed: number[]
    details: number[]
  }
  /** Users here and not in the dump: deactivated (or deleted), by id and username. */
  absent: Array<{ id: number, username: string }>
  /** Users whose every earlier token is now refused (a new password, deactivated, absent). */
  revoked: number[]
  blacklist?: { imported: number, expired: number, present: number }
  nextId: number
  /** True when the database had no schema yet (a dry run then compares with an empty one). */
  empty: boolean
}

/** Whether the service's tables exist, and are recent enough for a sync. */
export async function schemaState (db: Db): Promise<'missing' | 'outdated' | 'current'> {
  const rows = await db.execute<{ users: string | null, column: boolean }>(sql`
    select to_regclass(${`${SCHEMA}.users`})::text as users,
      exists (select 1 from information_schema.columns where table_schema = ${SCHEMA} and table_name = 'users' and column_name = 'django_password') as column`)
  const [row] = Array.isArray(rows) ? rows : (rows as { rows: Array<{ users: string | null, column: boolean }> }).rows
  if (row.users === null) return 'missing'
  return row.column ? 'current' : 'outdated'
}

const emptyReport = (): SyncReport => ({
  created: [],
  unchanged: 0,
  changed: { password: [], deactivated: [], reactivated: [], staffRemoved: [], staffGranted: [], superuserRemoved: [], superuserGranted: [], renamed: [], details: [] },
  absent: [],
  revoked: [],
  nextId: 1,
  empty: false
})

/** A dry run against a database without the service's tables: every user of the dump would be created. */
export function reportForEmpty (rows: SyncedUser[], blacklist: DjangoBlacklistedToken[] | undefined, now: Date): SyncReport {
  const report = emptyReport()
  report.created = rows.map(row => row.id)
  report.nextId = Math.max(0, ...rows.map(row => row.id)) + 1
  report.empty = true
  if (blacklist !== undefined) {
    const live = blacklist.filter(token => token.expiresAt > now)
    report.blacklist = { imported: live.length, expired: blacklist.length - live.length, present: 0 }
  }
  return report
}

/** The later of two instants (a login here during the window is not forgotten). */
function later (a: Date | null | undefined, b: Date | null | undefined): Date | null {
  if (a == null) return b ?? null
  if (b == null) return a
  return a > b ? a : b
}

/**
 * Makes the users equal to `rows` (by id, Django's primary key, which tokens name): new ones are
 * created, changed ones updated — the password hash only when Django's changed (a hash merely
 * rehashed here at login is kept), names, email, flags, date joined, the later last login — and
 * those absent are deactivated or deleted. A new password, a deactivation and an absence revoke
 * every token of the user (cut-off `now`, outstanding refresh tokens blacklisted), as they do here.
 * With `blacklist`, Django's blacklisted tokens are imported in the same transaction. An id or a
 * username held by another user here aborts it all (ImportConflict). A dry run writes nothing.
 */
export async function syncDjangoUsers (db: Db, rows: SyncedUser[], options: SyncOptions): Promise<SyncReport> {
  const report = emptyReport()
  try {
    await db.transaction(async (tx) => {
      // No createuser, login rehash or admin change may slip between the reads below and the writes.
      await tx.execute(sql`lock table ${users} in share row exclusive mode`)
      const existing = new Map<number, User>((await tx.select().from(users)).map(user => [user.id, user]))
      const idOfName = new Map([...existing.values()].map(user => [user.username, user.id]))
      const inDump = new Set(rows.map(row => row.id))
      const absent = [...existing.values()].filter(user => !inDump.has(user.id))
      const fresh: Array<typeof users.$inferInsert> = []
      const updates: Array<{ id: number, changes: Partial<typeof users.$inferInsert> }> = []
      const revoke: number[] = []

      for (const [index, row] of rows.entries()) {
        const { djangoPassword = row.password, ...fields } = row
        // A username held here by a user Django no longer has (deleted, its name reused): that user
        // must go first, or the two would be one.
        const owner = idOfName.get(row.username)
        if (owner !== undefined && owner !== row.id && !inDump.has(owner) && options.absent !== 'delete') {
          throw new ImportConflict(index, `username ${JSON.stringify(row.username)} is held here by id ${owner}, which the dump no longer has: sync with --delete-absent, or rename that user`)
        }
        const current = existing.get(row.id)
        if (current === undefined) {
          fresh.push({ ...fields, djangoPassword })
          report.created.push(row.id)
          continue
        }
        const passwordChanged = djangoPassword !== (current.djangoPassword ?? current.password)
        const changes: Partial<typeof users.$inferInsert> = {}
        const note = (list: number[], when: boolean) => { if (when) list.push(row.id) }
        if (passwordChanged) changes.password = fields.password
        if (djangoPassword !== current.djangoPassword) changes.djangoPassword = djangoPassword
        const isActive = fields.isActive ?? true
        const isStaff = fields.isStaff ?? false
        const isSuperuser = fields.isSuperuser ?? false
        note(report.changed.password, passwordChanged)
        note(report.changed.deactivated, current.isActive && !isActive)
        note(report.changed.reactivated, !current.isActive && isActive)
        note(report.changed.staffRemoved, current.isStaff && !isStaff)
        note(report.changed.staffGranted, !current.isStaff && isStaff)
        note(report.changed.superuserRemoved, current.isSuperuser && !isSuperuser)
        note(report.changed.superuserGranted, !current.isSuperuser && isSuperuser)
        note(report.changed.renamed, current.username !== row.username)
        const target = {
          username: row.username,
          isActive,
          isStaff,
          isSuperuser,
          firstName: fields.firstName ?? '',
          lastName: fields.lastName ?? '',
          email: fields.email ?? '',
          dateJoined: fields.dateJoined ?? current.dateJoined,
          lastLogin: later(current.lastLogin, fields.lastLogin)
        }
        let details = false
        for (const [name, value] of Object.entries(target) as Array<[keyof typeof target, unknown]>) {
          const before = current[name]
          const same = before instanceof Date && value instanceof Date ? before.getTime() === value.getTime() : before === value
          if (same) continue
          Object.assign(changes, { [name]: value })
          if (!['username', 'isActive', 'isStaff', 'isSuperuser'].includes(name)) details = true
        }
        note(report.changed.details, details)
        if (passwordChanged || (current.isActive && !isActive)) revoke.push(row.id)
        if (Object.keys(changes).length === 0) report.unchanged++
        else updates.push({ id: row.id, changes })
      }
      report.absent = absent.map(({ id, username }) => ({ id, username }))
      revoke.push(...absent.map(user => user.id))
      report.revoked = revoke

      // Revoked first, while every outstanding token still names its user (a deleted user's are set null).
      // Batches keep each statement well under PostgreSQL's 65,535 parameters.
      for (const ids of batches(revoke)) {
        await blacklistOutstanding(tx, inArray(outstandingTokens.userId, ids), 'revoke_all', options.now)
        await tx.update(users).set({ tokensValidAfter: options.now }).where(inArray(users.id, ids))
      }
      for (const ids of batches(absent.map(user => user.id))) {
        if (options.absent === 'delete') await tx.delete(users).where(inArray(users.id, ids))
        else await tx.update(users).set({ isActive: false }).where(inArray(users.id, ids))
      }
      // Renames may swap names between users: every renamed user steps aside first.
      const renamed = updates.filter(update => update.changes.username !== undefined).map(update => update.id)
      for (const ids of batches(renamed)) await tx.update(users).set({ username: sql`'~sync~' || ${users.id}` }).where(inArray(users.id, ids))
      for (const { id, changes } of updates) await tx.update(users).set(changes).where(eq(users.id, id))
      for (const rowsOf of batches(fresh)) await tx.insert(users).values(rowsOf)
      if (options.blacklist !== undefined) report.blacklist = await importBlacklist(tx, options.blacklist, options.now)

      await endImport(tx, report, options.idFloor ?? 0, options.dryRun)
    })
  } catch (err) {
    if (!(options.dryRun && err instanceof TransactionRollbackError)) throw err
  }
  return report
}

/** `items` in slices of 1000. */
function batches<T> (items: T[]): T[][] {
  const slices: T[][] = []
  for (let start = 0; start < items.length; start += 1000) slices.push(items.slice(start, start + 1000))
  return slices
}

async function importBlacklist (tx: Tx, tokens: DjangoBlacklistedToken[], now: Date): Promise<NonNullable<SyncReport['blacklist']>> {
  const live = tokens.filter(token => token.expiresAt > now)
  const imported = await insertDjangoBlacklist(tx, live)
  return { imported, expired: tokens.length - live.length, present: live.length - imported }
}
