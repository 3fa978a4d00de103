// The caches kept in step with every instance: a NOTIFY names what to forget, and while the LISTEN
// connection is down the cache reads through (src/domain/cache.ts, follow).
import type { Cache } from '../domain/cache.js'
import type { Database } from './client.js'

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
