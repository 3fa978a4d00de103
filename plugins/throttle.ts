import { createHash } from 'node:crypto'
import fp from 'fastify-plugin'
import { Redis } from 'ioredis'
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { Throttled } from '../src/errors.js'
import { redactUrl, type RateLimit } from '../src/config.js'

export interface LoginThrottle {
  /** Throws Throttled (429) when the username or the IP has failed too often recently. */
  check: (username: string, ip: string) => Promise<void>
  /** Counts one failed login against the username and the IP. */
  failed: (username: string, ip: string) => Promise<void>
  /** A successful login clears the username's failures. */
  succeeded: (username: string) => Promise<void>
}

// Usernames may be long or odd; keys are fixed-length and reveal nothing when Redis is inspected.
const keyOf = (value: string) => createHash('sha256').update(value).digest('base64url')

function limiter (rate: RateLimit, prefix: string, redis: Redis | undefined): RateLimiterAbstract {
  const options = { keyPrefix: `fsj:login:${prefix}`, points: rate.failures, duration: rate.seconds }
  if (redis === undefined) return new RateLimiterMemory(options)
  // When Redis cannot answer, counting goes on in this process rather than failing the login.
  return new RateLimiterRedis({ ...options, storeClient: redis, rejectIfRedisNotReady: true, insuranceLimiter: new RateLimiterMemory(options) })
}

/**
 * Brute-force throttling with rate-limiter-flexible: per-username and per-IP failure counters, in
 * Redis when REDIS_URL is set (shared by every instance) and in-process otherwise.
 */
export function createLoginThrottle (options: { username: RateLimit | null, ip: RateLimit | null, redis?: Redis }): LoginThrottle {
  const byUsername = options.username === null ? undefined : limiter(options.username, 'user:', options.redis)
  const byIp = options.ip === null ? undefined : limiter(options.ip, 'ip:', options.redis)
  const checks: Array<[RateLimiterAbstract | undefined, (username: string, ip: string) => string]> = [
    [byUsername, (username) => keyOf(username)],
    [byIp, (_username, ip) => ip]
  ]

  return {
    async check (username, ip) {
      let wait = 0
      for (const [counter, key] of checks) {
        const state = await counter?.get(key(username, ip))
        if (counter !== undefined && state != null && state.consumedPoints >= counter.points) wait = Math.max(wait, state.msBeforeNext)
      }
      if (wait > 0) throw new Throttled(Math.max(1, Math.ceil(wait / 1000)))
    },
    async failed (username, ip) {
      await Promise.all(checks.map(([counter, key]) => counter?.penalty(key(username, ip))))
    },
    async succeeded (username) {
      await byUsername?.delete(keyOf(username))
    }
  }
}

function connectRedis (url: string, log: FastifyBaseLogger): Redis {
  const redis = new Redis(url, {
    // Fail fast while Redis is away; the in-process counters take over meanwhile.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 1000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000)
  })
  let warned = false
  redis.on('error', (err: Error) => {
    if (warned) return
    warned = true
    log.warn({ redis: redactUrl(url), err: { message: err.message } }, 'Redis is unreachable: login throttling counts in this process until it returns')
  })
  redis.on('ready', () => {
    if (warned) log.info({ redis: redactUrl(url) }, 'Redis is reachable again: login throttling is shared again')
    warned = false
  })
  return redis
}

export default fp(async function throttlePlugin (fastify: FastifyInstance) {
  const { config } = fastify.simplejwt
  const redis = config.REDIS_URL === undefined ? undefined : connectRedis(config.REDIS_URL, fastify.log)
  if (redis !== undefined) fastify.addHook('onClose', async () => { redis.disconnect() })
  fastify.simplejwt.loginThrottle = createLoginThrottle({ username: config.LOGIN_THROTTLE_USERNAME, ip: config.LOGIN_THROTTLE_IP, redis })
}, { name: 'throttle', dependencies: [] })
