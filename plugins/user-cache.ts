import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { User } from '../src/db/schema.js'
import { createCache, type Cache, type CacheOptions } from '../src/domain/cache.js'
import { followNotifications } from '../src/db/caches.js'

/** What the authentication hook needs of a user; the password hash is never cached. */
export type CachedUser = Omit<User, 'password' | 'lastLogin' | 'dateJoined'>

/** The NOTIFY channel the users table announces changes on (drizzle/0001_user_change_notify.sql). */
export const USER_CHANGED_CHANNEL = 'fsj_user_changed'

/** The cache's options, loading full user rows (the password hash is dropped before caching). */
export type UserCacheOptions = Omit<CacheOptions<number, unknown>, 'load'> & { load: (id: number) => Promise<User | undefined> }

/**
 * The users authentication needs, by id (src/domain/cache.ts). Entries go when the user changes (a local
 * write, or a NOTIFY from any instance or the CLI), when the LISTEN connection drops (and every
 * read goes to the database until it is back: notifications may be missed meanwhile), and after
 * `ttlMs` at the latest.
 */
export function createUserCache ({ load, ...options }: UserCacheOptions): Cache<number, CachedUser | undefined> {
  return createCache({ ...options, load: async (id: number) => { const row = await load(id); return row === undefined ? undefined : strip(row) } })
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
  const unlisten = await followNotifications(fastify.simplejwt.database, USER_CHANGED_CHANNEL, cache, (payload) => {
    const id = Number(payload)
    return Number.isSafeInteger(id) ? id : undefined
  }, {
    // One line per transition of the instance's subscription (the blacklist's cache follows the same one).
    down: (reason) => fastify.log.warn({ reason: (reason as Error | undefined)?.message }, 'LISTEN connection lost: caches read through to the database until it is back'),
    up: () => fastify.log.info('LISTEN connection re-established: caches in use again')
  })
  fastify.addHook('onClose', async () => { await unlisten().catch(() => {}) })
}, { name: 'simplejwt-user-cache', dependencies: ['simplejwt-db', 'simplejwt-users'] })
