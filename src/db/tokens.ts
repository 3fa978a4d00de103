// simplejwt's token_blacklist: outstanding and blacklisted tokens, revoked families, the per-user cut-off.
import { and, eq, gt, inArray, lt, sql, TransactionRollbackError, type SQL } from 'drizzle-orm'
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core'
import { blacklistedTokens, outstandingTokens, revokedTokenFamilies, users, type BlacklistReason, type User } from './schema.js'
import type { Db } from './client.js'
import { createCache, type Cache, type CacheOptions } from '../domain/cache.js'
import type { Issued, Presenter, RefreshRecord, TokenStatus } from '../domain/ports.js'
import type { UserChanges } from '../domain/users.js'
import { MAX_USER_ID } from '../domain/users.js'

export type { Presenter, RefreshRecord, TokenStatus } from '../domain/ports.js'

/** Thrown inside a rotation's transaction to roll it back when another rotation won. */
class LostRotation extends Error {}

const clip = (value: string | undefined, length: number) => value?.slice(0, length)

export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0]

/** Blacklists every outstanding token matching `where`, keeping rows that are already there (one statement). */
export async function blacklistOutstanding (tx: Tx, where: SQL | undefined, reason: BlacklistReason, at: Date): Promise<void> {
  await tx.execute(sql`
    insert into ${blacklistedTokens} (jti, reason, blacklisted_at, expires_at)
    select ${outstandingTokens.jti}, ${reason}, ${at.toISOString()}::timestamptz, ${outstandingTokens.expiresAt}
    from ${outstandingTokens} where ${where}
    on conflict (jti) do nothing`)
}

/** Blacklists Django's blacklisted tokens by jti (reason `django`), keeping rows already there; returns how many were new. */
export async function insertDjangoBlacklist (tx: Tx, tokens: Array<{ jti: string, blacklistedAt: Date, expiresAt: Date }>): Promise<number> {
  let inserted = 0
  // Batches keep each statement well under PostgreSQL's 65,535 parameters.
  for (let start = 0; start < tokens.length; start += 1000) {
    const rows = await tx.insert(blacklistedTokens)
      .values(tokens.slice(start, start + 1000).map(token => ({ ...token, reason: 'django' as const })))
      .onConflictDoNothing({ target: blacklistedTokens.jti })
      .returning({ id: blacklistedTokens.id })
    inserted += rows.length
  }
  return inserted
}

/** Inserts one blacklist row unless the jti is there already; true when this call inserted it. */
async function insertOnce (exec: Db | Tx, jti: string, reason: BlacklistReason, expiresAt: Date, at: Date, presenter: Presenter): Promise<boolean> {
  const inserted = await exec.insert(blacklistedTokens)
    .values({ jti, reason, expiresAt, blacklistedAt: at, ip: clip(presenter.ip, 64), userAgent: clip(presenter.userAgent, 512) })
    .onConflictDoNothing({ target: blacklistedTokens.jti })
    .returning({ id: blacklistedTokens.id })
  return inserted.length === 1
}

/** Deletes expired rows of one table, `batch` per statement; returns how many went. */
async function deleteExpired (db: Db, table: PgTable, key: PgColumn, expiresAt: PgColumn, now: Date, batch: number): Promise<number> {
  let total = 0
  for (;;) {
    const keys = db.select({ key }).from(table).where(lt(expiresAt, now)).limit(batch)
    const gone = await db.delete(table).where(inArray(key, keys)).returning({ key })
    total += gone.length
    if (gone.length < batch) return total
  }
}

/**
 * Outstanding and blacklisted refresh tokens, and revoked families: the only code that touches
 * them (rest_framework_simplejwt/token_blacklist). Every decision that must be race-free is one
 * statement whose unique key settles the race, or a transaction under the user's row lock (a mint
 * against a revocation).
 */
export function createBlacklistRepository (db: Db, userChanged: (id: number) => void = () => {}, cacheOptions?: StatusCacheOptions) {
  async function readStatus (jti: string): Promise<TokenStatus> {
    const [[blacklisted], [outstanding]] = await Promise.all([
      blacklistedBy.execute({ jti }),
      outstandingBy.execute({ jti })
    ])
    return { blacklisted, family: outstanding?.family, familyRevoked: outstanding?.revokedAt != null }
  }
  const blacklistedBy = db.select().from(blacklistedTokens).where(eq(blacklistedTokens.jti, sql.placeholder('jti'))).limit(1).prepare('blacklisted_by_jti')
  const outstandingBy = db.select({ family: outstandingTokens.family, revokedAt: revokedTokenFamilies.revokedAt })
    .from(outstandingTokens)
    .leftJoin(revokedTokenFamilies, eq(revokedTokenFamilies.family, outstandingTokens.family))
    .where(eq(outstandingTokens.jti, sql.placeholder('jti'))).limit(1).prepare('outstanding_by_jti')
  // Statuses from memory in steady state; every blacklisting anywhere invalidates (see the plugin).
  // Late-bound through the repository, so that a test can count the reads.
  const cache: Cache<string, TokenStatus> | undefined = cacheOptions === undefined || cacheOptions.ttlMs === 0
    ? undefined
    : createCache({ ...cacheOptions, load: async (jti: string): Promise<TokenStatus> => repository.freshStatus(jti) })

  const repository = {
    /** The in-memory token statuses (undefined when USER_CACHE_TTL is 0). */
    statusCache: cache,

    /** The status as the database has it now, never from memory (after losing a rotation race). */
    freshStatus: readStatus,

    /** Records a newly minted refresh token (OutstandingToken). */
    async outstand (token: RefreshRecord): Promise<void> {
      await db.insert(outstandingTokens).values(token).onConflictDoNothing()
    },

    /**
     * The blacklist row, family and family revocation of a token: from memory when cached, else in
     * two prepared round trips in parallel.
     */
    async status (jti: string): Promise<TokenStatus> {
      return cache === undefined ? readStatus(jti) : cache.get(jti)
    },

    /**
     * Blacklists one token. True when this call did it; false when it was already blacklisted,
     * by an earlier request or by a concurrent one that won the race.
     */
    async add (jti: string, reason: BlacklistReason, expiresAt: Date, at: Date, presenter: Presenter = {}): Promise<boolean> {
      const inserted = await insertOnce(db, jti, reason, expiresAt, at, presenter)
      cache?.invalidate(jti)
      return inserted
    },

    /** The user as committed, read FOR SHARE in one statement: waits for a revocation in progress (TokenStore.confirm). */
    async confirm (userId: number): Promise<User | undefined> {
      if (!Number.isSafeInteger(userId) || userId < 1 || userId > MAX_USER_ID) return undefined
      const [user] = await db.select().from(users).where(eq(users.id, userId)).for('share')
      return user
    },

    /**
     * Mints under the user's row lock, held FOR SHARE: mints of one user run side by side, and a
     * revocation (revokeAll, FOR UPDATE) waits for them, as they wait for it. `mint` reads the user
     * as committed now and may throw to refuse (the transaction rolls back); what it returns is
     * recorded before the lock is let go. A rotation whose presented token is already blacklisted
     * (a concurrent rotation won) records nothing and reports `lost`.
     */
    async issue<T> (userId: number, mint: (user: User | undefined) => Issued<T>): Promise<{ lost: false, value: T } | { lost: true }> {
      let rotated: string | undefined
      try {
        const value = await db.transaction(async (tx) => {
          const [user] = Number.isSafeInteger(userId) && userId >= 1 && userId <= MAX_USER_ID
            ? await tx.select().from(users).where(eq(users.id, userId)).for('share')
            : []
          const issued = mint(user)
          if (issued.rotated !== undefined) {
            const old = issued.rotated
            rotated = old.jti
            if (!await insertOnce(tx, old.jti, 'rotated', old.expiresAt, issued.outstand?.createdAt ?? new Date(), old.presenter)) throw new LostRotation()
          }
          if (issued.outstand !== undefined) await tx.insert(outstandingTokens).values(issued.outstand).onConflictDoNothing()
          return issued.value
        })
        return { lost: false, value }
      } catch (err) {
        if (err instanceof LostRotation) return { lost: true }
        throw err
      } finally {
        if (rotated !== undefined) cache?.invalidate(rotated)
      }
    },

    /**
     * Revokes a whole family: every member is blacklisted, and the family is marked so that a member
     * minted concurrently is refused too. True when this call revoked it.
     */
    async revokeFamily (family: string, userId: number | undefined, at: Date, expiresAt: Date): Promise<boolean> {
      const revokedNow = await db.transaction(async (tx) => {
        const revoked = await tx.insert(revokedTokenFamilies).values({ family, userId, revokedAt: at, expiresAt })
          .onConflictDoNothing().returning({ family: revokedTokenFamilies.family })
        await blacklistOutstanding(tx, eq(outstandingTokens.family, family), 'reuse', at)
        return revoked.length === 1
      })
      // Rare, and the members are not known here: every cached status goes.
      cache?.clear()
      return revokedNow
    },

    /**
     * "Log out everywhere", serialised against every mint of the user (`issue`): locks the user's row
     * FOR UPDATE (waiting for the mints in flight), then reads the cut-off from `clock`, so that every
     * token minted before has an `iat` at or before it; sets it, with `changes` (a new password, a
     * deactivation), and blacklists every unexpired outstanding token of the user, in one transaction.
     * The updated user, or undefined when there is none.
     */
    async revokeAll (userId: number, clock: () => Date, changes: UserChanges = {}): Promise<User | undefined> {
      if (!Number.isSafeInteger(userId) || userId < 1 || userId > MAX_USER_ID) return undefined
      const updated = await db.transaction(async (tx) => {
        const [locked] = await tx.select({ id: users.id }).from(users).where(eq(users.id, userId)).for('update')
        if (locked === undefined) return undefined
        const cutoff = clock()
        const [row] = await tx.update(users).set({ ...changes, tokensValidAfter: cutoff }).where(eq(users.id, userId)).returning()
        await blacklistOutstanding(tx, and(eq(outstandingTokens.userId, userId), gt(outstandingTokens.expiresAt, cutoff)), 'revoke_all', cutoff)
        return row
      })
      if (updated !== undefined) {
        cache?.clear()
        userChanged(userId)
      }
      return updated
    },

    /**
     * Deletes rows whose tokens have expired, `batch` rows per statement so that no statement holds
     * locks for long. Returns how many rows of each table went.
     */
    async flushExpired (now: Date, batch = 5000): Promise<{ outstanding: number, blacklisted: number, families: number }> {
      return {
        blacklisted: await deleteExpired(db, blacklistedTokens, blacklistedTokens.id, blacklistedTokens.expiresAt, now, batch),
        outstanding: await deleteExpired(db, outstandingTokens, outstandingTokens.id, outstandingTokens.expiresAt, now, batch),
        families: await deleteExpired(db, revokedTokenFamilies, revokedTokenFamilies.family, revokedTokenFamilies.expiresAt, now, batch)
      }
    },

    /**
     * Blacklists the tokens a Django deployment had blacklisted (import-django-blacklist), in one
     * transaction; expired ones are left out, and tokens already blacklisted here are kept as they are.
     */
    async importDjango (tokens: Array<{ jti: string, blacklistedAt: Date, expiresAt: Date }>, now: Date, dryRun: boolean): Promise<{ imported: number, expired: number, present: number }> {
      const live = tokens.filter(token => token.expiresAt > now)
      const result = { imported: 0, expired: tokens.length - live.length, present: 0 }
      try {
        await db.transaction(async (tx) => {
          result.imported = await insertDjangoBlacklist(tx, live)
          if (dryRun) tx.rollback()
        })
      } catch (err) {
        if (!(dryRun && err instanceof TransactionRollbackError)) throw err
      }
      result.present = live.length - result.imported
      if (!dryRun) cache?.clear()
      return result
    }
  }
  return repository
}

export type BlacklistRepository = ReturnType<typeof createBlacklistRepository>

/** The NOTIFY channel blacklisted tokens are announced on (drizzle/0002_token_blacklisted_notify.sql). */
export const TOKEN_BLACKLISTED_CHANNEL = 'fsj_token_blacklisted'

export type StatusCacheOptions = Omit<CacheOptions<string, TokenStatus>, 'load'>
