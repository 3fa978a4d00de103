import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { User } from '../src/db/schema.js'

/** What the authentication hook needs of a user; the password hash is never cached. */
export type CachedUser = Omit<User, 'password' | 'lastLogin' | 'dateJoined'>

/** The NOTIFY channel the users table announces changes on (drizzle/0002_user_change_notify.sql). */
export const USER_CHANGED_CHANNEL = 'fsj_user_changed'

export interface UserCacheOptions {
  load: (id: number) => Promise<User | undefined>
  /** How long an entry may live without a notification; a backstop, not the mechanism. */
  ttlMs: number
  maxEntries: number
  now: () => number
}

/**
 * An LRU of users by id with single-flight loading. Entries go when the user changes (a local
 * write, or a NOTIFY from any instance or the CLI), when the LISTEN connection is re-established
 * (notifications may have been missed), and after `ttlMs` at the latest.
 */
export function createUserCache ({ load, ttlMs, maxEntries, now }: UserCacheOptions) {
  const entries = new Map<number, { user: CachedUser | undefined, expires: number }>()
  const loading = new Map<number, Promise<CachedUser | undefined>>()
  // Bumped on every invalidation of an id, so that a load that raced a change is not cached.
  const versions = new Map<number, number>()
  let generation = 0

  function invalidate (id: number): void {
    entries.delete(id)
    loading.delete(id)
    versions.set(id, (versions.get(id) ?? 0) + 1)
  }

  async function fetch (id: number): Promise<CachedUser | undefined> {
    const version = versions.get(id)
    const startedIn = generation
    const row = await load(id)
    const user = row === undefined ? undefined : strip(row)
    if (versions.get(id) === version && startedIn === generation) {
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as number)
      entries.set(id, { user, expires: now() + ttlMs })
    }
    return user
  }

  return {
    /** The user with this id (undefined when there is none), from memory when possible. */
    async get (id: number): Promise<CachedUser | undefined> {
      const entry = entries.get(id)
      if (entry !== undefined && entry.expires > now()) {
        // Least recently used goes first: re-inserting moves the entry to the end.
        entries.delete(id)
        entries.set(id, entry)
        return entry.user
      }
      let pending = loading.get(id)
      if (pending === undefined) {
        pending = fetch(id).finally(() => { if (loading.get(id) === pending) loading.delete(id) })
        loading.set(id, pending)
      }
      return pending
    },
    invalidate,
    /** Forgets everything (after a reconnect, or between tests). */
    clear (): void {
      entries.clear()
      loading.clear()
      versions.clear()
      generation++
    },
    get size (): number { return entries.size }
  }
}

export type UserCache = ReturnType<typeof createUserCache>

function strip ({ password: _password, lastLogin: _lastLogin, dateJoined: _dateJoined, ...user }: User): CachedUser {
  return user
}

export default fp(async function userCachePlugin (fastify: FastifyInstance) {
  const { config } = fastify.simplejwt
  const cache = createUserCache({
    load: (id) => fastify.simplejwt.users.findById(id),
    ttlMs: config.USER_CACHE_TTL * 1000,
    maxEntries: config.USER_CACHE_SIZE,
    now: Date.now
  })
  fastify.simplejwt.userCache = cache
  if (config.USER_CACHE_TTL === 0) return

  fastify.simplejwt.userChanges.on('change', (id) => cache.invalidate(id))
  const unlisten = await fastify.simplejwt.database.listen(USER_CHANGED_CHANNEL, (payload) => {
    if (payload === '*') return cache.clear()
    const id = Number(payload)
    if (Number.isSafeInteger(id)) cache.invalidate(id)
  }, () => cache.clear())
  fastify.addHook('onClose', async () => { await unlisten().catch(() => {}) })
}, { name: 'user-cache', dependencies: ['db', 'users'] })
