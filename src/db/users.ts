// The users table (Django's auth_user): the only code that reads or writes it.
import { and, eq, inArray, or, sql, TransactionRollbackError } from 'drizzle-orm'
import { SCHEMA, users, type NewUser, type User } from './schema.js'
import type { Db } from './client.js'
import { MAX_USER_ID } from '../domain/users.js'
import { DuplicateUsername } from '../domain/errors.js'
import { assertEncodedPassword } from '../domain/passwords.js'
import { ImportConflict, type DjangoUser, type OnConflict } from '../domain/dumpdata.js'

/**
 * Moves the users' id sequence so that no id up to `top` is ever handed out; never moves it back (a
 * user deleted here, or at Django, keeps its id unused: its old tokens must never name a new user).
 */
export async function advanceUserIds (exec: Pick<Db, 'execute'>, top: number): Promise<void> {
  if (!Number.isSafeInteger(top) || top < 1) return
  await exec.execute(sql`
    select setval(seq, greatest(${top}::bigint, coalesce(pg_sequence_last_value(seq), 0)))
    from (select pg_get_serial_sequence(${`${SCHEMA}.users`}, 'id')::regclass as seq) as serial`)
}

/**
 * The last step of an import's transaction: `report.nextId`, the id the next user gets (past the
 * largest id here and `floor`), then the id sequence moved there, or, for a dry run, the rollback
 * (setval is not transactional: a dry run must stop before it).
 */
export async function endImport (tx: Pick<Db, 'select' | 'execute'> & { rollback: () => never }, report: { nextId: number }, floor: number, dryRun: boolean): Promise<void> {
  const [{ largest }] = await tx.select({ largest: sql<number>`coalesce(max(${users.id}), 0)`.mapWith(Number) }).from(users)
  const top = Math.max(largest, floor)
  report.nextId = top + 1
  if (dryRun) tx.rollback()
  await advanceUserIds(tx, top)
}

/**
 * The users table, and nothing else reads or writes it (Django's auth_user). `changed` hears of
 * every user this repository changes.
 */
export function createUsersRepository (db: Db, changed: (id: number) => void = () => {}) {
  const byId = db.select().from(users).where(eq(users.id, sql.placeholder('id'))).limit(1).prepare('users_by_id')
  const byUsername = db.select().from(users).where(eq(users.username, sql.placeholder('username'))).limit(1).prepare('users_by_username')

  return {
    async findById (id: number): Promise<User | undefined> {
      // The column is a PostgreSQL integer: a larger id names nobody (and would make the query fail).
      if (!Number.isSafeInteger(id) || id < 1 || id > MAX_USER_ID) return undefined
      const [user] = await byId.execute({ id })
      return user
    },

    /** Exact, case-sensitive match, as Django's ModelBackend looks users up. */
    async findByUsername (username: string): Promise<User | undefined> {
      const [user] = await byUsername.execute({ username })
      return user
    },

    /**
     * Inserts a user whose password is already a hash in Django's format (hashPassword(), or one
     * from Django); throws DuplicateUsername when the name is taken, and a TypeError for a plain
     * password (accounts.create takes those). Returns the user without the hash.
     */
    async create (user: NewUser): Promise<Omit<User, 'password' | 'djangoPassword'>> {
      assertEncodedPassword(user.password)
      const [created] = await db.insert(users).values(user).onConflictDoNothing({ target: users.username }).returning()
      if (created === undefined) throw new DuplicateUsername(user.username)
      changed(created.id)
      const { password: _hash, djangoPassword: _imported, ...stored } = created
      return stored
    },

    /** Every user, by id. */
    async list (): Promise<User[]> {
      return db.select().from(users).orderBy(users.id)
    },

    /** Applies changes to a user named by username; undefined when there is no such user. */
    async update (username: string, changes: Partial<Omit<NewUser, 'id' | 'username'>>): Promise<User | undefined> {
      const [updated] = await db.update(users).set(changes).where(eq(users.username, username)).returning()
      if (updated !== undefined) changed(updated.id)
      return updated
    },

    async touchLastLogin (id: number, at: Date): Promise<void> {
      await db.update(users).set({ lastLogin: at }).where(eq(users.id, id))
    },

    /**
     * Replaces a user's password hash with a new encoding of the same password (rehash at login),
     * unless the hash changed since it was read: a password set meanwhile (changepassword) wins over
     * the rehash of the old one. True when replaced. Tokens stay valid: the password is the same.
     */
    async rehashPassword (id: number, current: string, next: string): Promise<boolean> {
      const [updated] = await db.update(users).set({ password: next })
        .where(and(eq(users.id, id), eq(users.password, current))).returning({ id: users.id })
      if (updated !== undefined) changed(id)
      return updated !== undefined
    },

    /**
     * Moves the id sequence so that no user created from now on takes an id up to `floor` (the
     * largest id a Django dump names, whose user may have been deleted there); never moves it back.
     */
    async raiseIdFloor (floor: number): Promise<void> {
      await advanceUserIds(db, floor)
    },

    /**
     * Imports Django users with their primary keys, in one transaction, then moves the id sequence
     * past the largest id. A user already here under the same id and username is skipped or updated
     * (`onConflict`); an id or a username held by someone else throws ImportConflict with the record's
     * index, and nothing is imported. `dryRun` does all of it and rolls back.
     */
    async importUsers (rows: Array<DjangoUser & { djangoPassword?: string }>, options: { onConflict: OnConflict, dryRun: boolean }): Promise<{ imported: number, skipped: number, updated: number, nextId: number }> {
      const result = { imported: 0, skipped: 0, updated: 0, nextId: 1 }
      const touched: number[] = []
      try {
        await db.transaction(async (tx) => {
          // No createuser may take an id or a username between the checks below and the inserts.
          await tx.execute(sql`lock table ${users} in share row exclusive mode`)
          // Batches keep each statement well under PostgreSQL's 65,535 parameters.
          for (let start = 0; start < rows.length; start += 1000) {
            const batch = rows.slice(start, start + 1000)
            const existing = await tx.select({ id: users.id, username: users.username }).from(users)
              .where(or(inArray(users.id, batch.map(row => row.id)), inArray(users.username, batch.map(row => row.username))))
            const nameOfId = new Map(existing.map(user => [user.id, user.username]))
            const idOfName = new Map(existing.map(user => [user.username, user.id]))
            const fresh: Array<DjangoUser & { djangoPassword?: string }> = []
            for (const [offset, row] of batch.entries()) {
              const holder = nameOfId.get(row.id)
              const owner = idOfName.get(row.username)
              if (holder === undefined && owner === undefined) {
                fresh.push(row)
                continue
              }
              // Anything but the same person under the same id would make Django's tokens for this id
              // name someone else: refuse rather than guess.
              if (holder !== undefined && holder !== row.username) {
                throw new ImportConflict(start + offset, `pk ${row.id} is already user ${JSON.stringify(holder)} here, not ${JSON.stringify(row.username)}`)
              }
              if (owner !== undefined && owner !== row.id) {
                throw new ImportConflict(start + offset, `username ${JSON.stringify(row.username)} is already taken here by id ${owner}, not pk ${row.id}`)
              }
              if (options.onConflict === 'skip') {
                result.skipped++
                continue
              }
              const { id, username, djangoPassword = row.password, ...fields } = row
              await tx.update(users).set({ ...fields, djangoPassword }).where(eq(users.id, id))
              touched.push(id)
              result.updated++
            }
            // The hash as Django holds it, for a later --sync to tell Django's changes from rehashes here.
            if (fresh.length > 0) await tx.insert(users).values(fresh.map(row => ({ ...row, djangoPassword: row.djangoPassword ?? row.password })))
            touched.push(...fresh.map(row => row.id))
            result.imported += fresh.length
          }
          await endImport(tx, result, 0, options.dryRun)
        })
      } catch (err) {
        if (!(options.dryRun && err instanceof TransactionRollbackError)) throw err
        return result
      }
      for (const id of touched) changed(id)
      return result
    },

    /**
     * One page of users by id, and how many match in all: for the admin list. `search` holds terms
     * that must each occur in the username, case-insensitively (DRF's SearchFilter, `icontains`).
     */
    async page (options: { search: string[], limit: number, offset: number }): Promise<{ count: number, users: User[] }> {
      const escape = (term: string) => term.replace(/[\\%_]/g, (c) => `\\${c}`)
      // One JSON parameter however many terms: a 64 KiB search of 20 000 terms made 20 000 ILIKE
      // conditions and bind parameters, most of a second to build and plan.
      const patterns = JSON.stringify([...new Set(options.search)].map(term => `%${escape(term)}%`))
      const where = options.search.length === 0 ? undefined : sql`${users.username} ilike all (select jsonb_array_elements_text(${patterns}::jsonb))`
      const [{ count }] = await db.select({ count: sql<number>`count(*)`.mapWith(Number) }).from(users).where(where)
      const rows = await db.select().from(users).where(where).orderBy(users.id).limit(options.limit).offset(options.offset)
      return { count, users: rows }
    },

    /** Applies changes to a user named by id; undefined when there is no such user. */
    async updateById (id: number, changes: Partial<Omit<NewUser, 'id' | 'username'>>): Promise<User | undefined> {
      if (!Number.isSafeInteger(id) || id < 1 || id > MAX_USER_ID) return undefined
      const [updated] = await db.update(users).set(changes).where(eq(users.id, id)).returning()
      if (updated !== undefined) changed(updated.id)
      return updated
    }
  }
}

export type UsersRepository = ReturnType<typeof createUsersRepository>
