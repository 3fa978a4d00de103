// The in-memory cache behind the hot path: users by id, token statuses by jti. Pushed invalidation
// (a local write, or a NOTIFY from any instance) is the mechanism; the TTL is only a backstop.

export interface CacheOptions<K, V> {
  load: (key: K) => Promise<V>
  /** How long an entry may live without an invalidation. */
  ttlMs: number
  maxEntries: number
  now: () => number
}

/** What a cache needs of a subscription to change notifications (src/db/notifications.ts has one). */
export interface Following {
  /** True while notifications are known to arrive. */
  readonly subscribed: boolean
  on: (event: 'down' | 'up', listener: () => void) => unknown
  off: (event: 'down' | 'up', listener: () => void) => unknown
}

export interface Cache<K, V> {
  /** The value for a key, from memory when possible; concurrent misses share one load. */
  get: (key: K) => Promise<V>
  /** Forgets a key; a load already under way for it is not cached either. */
  invalidate: (key: K) => void
  /** Forgets everything, loads under way included (between tests, after a bulk change). */
  clear: () => void
  /**
   * Trusts memory only while `subscription` is subscribed: on 'down' everything is forgotten and
   * every get reads through to `load` (nothing is stored) until 'up'; a load that began before
   * 'up' is not stored either. Returns the function that stops following.
   */
  follow: (subscription: Following) => () => void
  readonly size: number
}

/**
 * An LRU with single-flight loading that never caches a load which raced an invalidation: an
 * invalidation marks the loads under way for its key as stale, and `clear` (or a change of the
 * followed subscription) starts a new generation, whose loads alone may be stored. A stale load's
 * result is returned to its callers but not stored. Nothing is kept per invalidated key.
 */
export function createCache<K, V> ({ load, ttlMs, maxEntries, now }: CacheOptions<K, V>): Cache<K, V> {
  const entries = new Map<K, { value: V, expires: number }>()
  const loading = new Map<K, { promise: Promise<V>, stale: boolean }>()
  let generation = 0
  let followed: Pick<Following, 'subscribed'> | undefined

  function store (key: K, value: V): void {
    entries.delete(key)
    if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as K)
    entries.set(key, { value, expires: now() + ttlMs })
  }

  function startLoad (key: K): Promise<V> {
    const flight = { promise: undefined as unknown as Promise<V>, stale: false }
    const started = generation
    flight.promise = load(key).then((value) => {
      if (!flight.stale && started === generation && followed?.subscribed !== false) store(key, value)
      return value
    }).finally(() => { if (loading.get(key) === flight) loading.delete(key) })
    loading.set(key, flight)
    return flight.promise
  }

  function clear (): void {
    generation++
    entries.clear()
    for (const flight of loading.values()) flight.stale = true
    loading.clear()
  }

  return {
    async get (key) {
      // Not subscribed: a change may have gone unannounced, so memory is not asked (read through).
      if (followed?.subscribed === false) return load(key)
      const entry = entries.get(key)
      if (entry !== undefined && entry.expires > now()) {
        // Least recently used goes first: re-inserting moves the entry to the end.
        entries.delete(key)
        entries.set(key, entry)
        return entry.value
      }
      return loading.get(key)?.promise ?? startLoad(key)
    },
    invalidate (key) {
      entries.delete(key)
      const flight = loading.get(key)
      if (flight === undefined) return
      flight.stale = true
      loading.delete(key)
    },
    clear,
    follow (subscription) {
      followed = subscription
      // Dropped when the connection drops, not when it comes back; a fresh generation again on 'up'.
      subscription.on('down', clear)
      subscription.on('up', clear)
      if (!subscription.subscribed) clear()
      return () => {
        subscription.off('down', clear)
        subscription.off('up', clear)
        if (followed === subscription) followed = undefined
      }
    },
    get size () { return entries.size }
  }
}
