// The throttling counters: failed logins per username and per client address, refreshes per user;
// in Redis when REDIS_URL is set (shared by every instance), in this process otherwise.
import { createHash } from 'node:crypto'
import { Redis } from 'ioredis'
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible'
import { Throttled } from '../domain/errors.js'
import { redactUrl, type RateLimit } from '../domain/settings.js'
import type { LoginAttempts } from '../domain/ports.js'

/** The failed-login counters, as the login rule needs them (src/domain/ports.ts). */
export type LoginThrottle = LoginAttempts

// Usernames may be long or odd; keys are fixed-length and reveal nothing when Redis is inspected.
const keyOf = (value: string) => createHash('sha256').update(value).digest('base64url')

function limiter (rate: RateLimit, prefix: string, redis: Redis | undefined): RateLimiterAbstract {
  const options = { keyPrefix: `fsj:login:${prefix}`, points: rate.failures, duration: rate.seconds }
  if (redis === undefined) return new RateLimiterMemory(options)
  // When Redis cannot answer, counting goes on in this process rather than failing the login.
  return new RateLimiterRedis({ ...options, storeClient: redis, rejectIfRedisNotReady: true, insuranceLimiter: new RateLimiterMemory(options) })
}

/** Gives one point back; a window that ended meanwhile is not left owing (a new one is not credited). */
async function giveBack (counter: RateLimiterAbstract, key: string): Promise<void> {
  const state = await counter.reward(key)
  if (state.consumedPoints < 0) await counter.penalty(key, -state.consumedPoints)
}

/**
 * Brute-force throttling with rate-limiter-flexible: per-username and per-IP failure counters, in
 * Redis when REDIS_URL is set (shared by every instance) and in-process otherwise. An attempt takes
 * its point before the password is checked (one atomic increment per counter: INCRBY in Redis), so
 * that the limit holds however many attempts arrive at once, on however many instances.
 */
export function createLoginThrottle (options: { username: RateLimit | null, ip: RateLimit | null, redis?: Redis }): LoginThrottle {
  const byUsername = options.username === null ? undefined : limiter(options.username, 'user:', options.redis)
  const byIp = options.ip === null ? undefined : limiter(options.ip, 'ip:', options.redis)
  const counters: Array<[RateLimiterAbstract, (username: string, ip: string) => string]> = []
  if (byUsername !== undefined) counters.push([byUsername, (username) => keyOf(username)])
  if (byIp !== undefined) counters.push([byIp, (_username, ip) => ip])

  // Both counters at once: while Redis hangs, a login waits for one REDIS_TIMEOUT, not two.
  const giveBackAll = async (which: typeof counters, username: string, ip: string) => {
    await Promise.all(which.map(async ([counter, key]) => await giveBack(counter, key(username, ip))))
  }

  return {
    async consume (username, ip) {
      const results = await Promise.allSettled(counters.map(async ([counter, key]) => await counter.consume(key(username, ip))))
      // A refused attempt counts for nothing: every counter it was added to gets its point back,
      // the exhausted one included (rate-limiter-flexible adds the point before it refuses).
      const added = counters.filter((_, i) => results[i].status === 'fulfilled' || (results[i] as PromiseRejectedResult).reason instanceof RateLimiterRes)
      const refusals = results.flatMap(result => result.status === 'rejected' && result.reason instanceof RateLimiterRes ? [result.reason] : [])
      const fault = results.find((result): result is PromiseRejectedResult => result.status === 'rejected' && !(result.reason instanceof RateLimiterRes))
      if (refusals.length === 0 && fault === undefined) return
      await giveBackAll(added, username, ip)
      if (fault !== undefined) throw fault.reason
      const wait = Math.max(...refusals.map(state => state.msBeforeNext))
      throw new Throttled(Math.max(1, Math.ceil(wait / 1000)))
    },
    async refund (username, ip) {
      await giveBackAll(counters, username, ip)
    },
    async succeeded (username, ip) {
      await Promise.all([
        byUsername?.delete(keyOf(username)),
        byIp === undefined ? undefined : giveBack(byIp, ip)
      ])
    }
  }
}

export interface RefreshThrottle {
  /** Counts one refresh for the user; throws Throttled (429) past REFRESH_THROTTLE in the current window. */
  hit: (userId: number) => Promise<void>
}

/**
 * REFRESH_THROTTLE: refreshes per user in fixed windows of the service's clock (window n covers
 * [n, n + 1) × seconds). Counted in Redis under `<prefix><user id>:<window>` when Redis is ready
 * (shared by every instance), in this process otherwise or when a Redis command fails or times out.
 */
export function createRefreshThrottle (options: { rate: RateLimit | null, now: () => number, redis?: Redis, prefix?: string }): RefreshThrottle {
  const { rate, now, redis, prefix = 'fsj:refresh:user:' } = options
  if (rate === null) return { async hit () {} }
  const windowMs = rate.seconds * 1000
  // This process's counts, for the current window only: the map never holds more than one window's users.
  let localWindow = Number.NaN
  const local = new Map<number, number>()
  const countHere = (userId: number, window: number): number => {
    if (window !== localWindow) {
      local.clear()
      localWindow = window
    }
    const count = (local.get(userId) ?? 0) + 1
    local.set(userId, count)
    return count
  }
  const countInRedis = async (client: Redis, userId: number, window: number): Promise<number> => {
    const key = `${prefix}${userId}:${window}`
    // The key names its window, so the expiry (in Redis's time) only tidies up.
    const results = await client.multi().incr(key).pexpire(key, windowMs).exec()
    const [error, count] = results?.[0] ?? [new Error('Redis transaction discarded'), undefined]
    if (error !== null) throw error
    return Number(count)
  }

  return {
    async hit (userId) {
      const at = now()
      const window = Math.floor(at / windowMs)
      let count: number
      if (redis?.status === 'ready') {
        try {
          count = await countInRedis(redis, userId, window)
        } catch {
          count = countHere(userId, window)
        }
      } else {
        count = countHere(userId, window)
      }
      if (count > rate.failures) throw new Throttled(Math.max(1, Math.ceil(((window + 1) * windowMs - at) / 1000)))
    }
  }
}

/**
 * The Redis client the counters share. Every command and connection attempt is bounded by
 * REDIS_TIMEOUT; a socket that stays silent that long after a command (a hung Redis, a partition)
 * is dropped and reconnected, so that the counters go in-process at once rather than wait again.
 */
/** Where connectRedis reports an outage and the return: a pino logger fits. */
export interface RedisLog {
  warn: (details: object, message: string) => void
  info: (details: object, message: string) => void
}

export function connectRedis (url: string, timeoutMs: number, log: RedisLog): Redis {
  const redis = new Redis(url, {
    // Fail fast while Redis is away; the in-process counters take over meanwhile.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // A count in flight on a connection that drops has failed (the in-process counter takes it): sent
    // again on the next connection, it might be counted twice.
    autoResendUnfulfilledCommands: false,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000)
  })
  // One warning per outage, not one per request: it is cleared when Redis is ready again.
  let warned = false
  redis.on('error', (err: Error) => {
    if (warned) return
    warned = true
    log.warn({ redis: redactUrl(url), err: { message: err.message } }, 'Redis is unreachable: throttling counts in this process until it returns')
  })
  redis.on('ready', () => {
    if (warned) log.info({ redis: redactUrl(url) }, 'Redis is reachable again: throttling is shared again')
    warned = false
  })
  return redis
}
