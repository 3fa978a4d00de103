// The in-memory cache behind the hot path: users by id, token statuses by jti. Pushed invalidation
// (a local write, or a NOTIFY from any instance) is the mechanism; the TTL is only a backstop.
import type { Database } from './db/client.js'

export interface CacheOptions<K, V> {
  load: (key: K) => Promise<V>
  /** How long an entry may live without an invalidation. */
  ttlMs: number
  maxEntries: number
  now: () => number
}

export interface Cache<K, V> {
  /** The value for a key, from memory when possible; concurrent misses share one load. */
  get: (key: K) => Promise<V>
  /** Forgets a key; a load already under way for it is not cached either. */
  invalidate: (key: K) => void
  /** Forgets everything (after a reconnect of the LISTEN connection, or between tests). */
  clear: () => void
  readonly size: number
}

/**
 * An LRU with single-flight loading that never caches a load which raced an invalidation: an
 * invalidation (or `clear`) marks the loads under way as stale, and a stale load's result is
 * returned to its callers but not stored. Nothing is kept per invalidated key.
 */
export function createCache<K, V> ({ load, ttlMs, maxEntries, now }: CacheOptions<K, V>): Cache<K, V> {
  const entries = new Map<K, { value: V, expires: number }>()
  const loading = new Map<K, { promise: Promise<V>, stale: boolean }>()

  function store (key: K, value: V): void {
    entries.delete(key)
    if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as K)
    entries.set(key, { value, expires: now() + ttlMs })
  }

  function startLoad (key: K): Promise<V> {
    const flight = { promise: undefined as unknown as Promise<V>, stale: false }
    flight.promise = load(key).then((value) => {
      if (!flight.stale) store(key, value)
      return value
    }).finally(() => { if (loading.get(key) === flight) loading.delete(key) })
    loading.set(key, flight)
    return flight.promise
  }

  return {
    async get (key) {
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
    clear () {
      entries.clear()
      for (const flight of loading.values()) flight.stale = true
      loading.clear()
    },
    get size () { return entries.size }
  }
}

/**
 * Keeps a cache in step with a NOTIFY channel: a payload names a key to forget (`keyOf` reads it;
 * undefined ignores it), `*` forgets everything, and so does every (re)connection of the LISTEN
 * connection, since notifications sent while it was down are lost. Returns the unsubscribe function.
 */
export async function followNotifications<K> (
  database: Pick<Database, 'listen'>,
  channel: string,
  cache: Pick<Cache<K, unknown>, 'invalidate' | 'clear'>,
  keyOf: (payload: string) => K | undefined
): Promise<() => Promise<void>> {
  return database.listen(channel, (payload) => {
    if (payload === '*') return cache.clear()
    const key = keyOf(payload)
    if (key !== undefined) cache.invalidate(key)
  }, () => cache.clear())
}
