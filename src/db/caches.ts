// The caches kept in step with every instance: a NOTIFY names what to forget, and while the LISTEN
// connection is down the cache reads through (src/domain/cache.ts, follow).
import { createCache, type Cache, type CacheOptions } from '../domain/cache.js'
import type { Database } from './client.js'
import type { User } from './schema.js'

/**
 * Keeps a cache in step with a NOTIFY channel: a payload names a key to forget (`keyOf` reads it;
 * undefined ignores it), `*` forgets everything, and while the subscription is down (notifications
 * may be missed) the cache reads through (`Cache.follow`). Returns the function that stops it.
 */
export async function followNotifications<K> (
  database: Pick<Database, 'listen'>,
  channel: string,
  cache: Pick<Cache<K, unknown>, 'invalidate' | 'clear' | 'follow'>,
  keyOf: (payload: string) => K | undefined,
  /** Told of each later transition (for a log line), after the cache has reacted. */
  transitions: { down?: (reason: unknown) => void, up?: () => void } = {}
): Promise<() => Promise<void>> {
  const { subscription, unlisten } = await database.listen(channel, (payload) => {
    if (payload === '*') return cache.clear()
    const key = keyOf(payload)
    if (key !== undefined) cache.invalidate(key)
  })
  const unfollow = cache.follow(subscription)
  const { down, up } = transitions
  if (down !== undefined) subscription.on('down', down)
  if (up !== undefined) subscription.on('up', up)
  return async () => {
    unfollow()
    if (down !== undefined) subscription.off('down', down)
    if (up !== undefined) subscription.off('up', up)
    await unlisten()
  }
}

/** What the authentication hook needs of a user; the password hash is never cached. */
export type CachedUser = Omit<User, 'password' | 'lastLogin'>

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

function strip ({ password: _password, lastLogin: _lastLogin, ...user }: User): CachedUser {
  return user
}
