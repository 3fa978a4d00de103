// fastify.simplejwt.loginThrottle, .loginQueue and .refreshThrottle: the counters of
// src/db/login-attempts.ts over one Redis client (or none), and the bounded password-check queue.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { connectRedis, createLoginThrottle, createRefreshThrottle } from '../src/db/login-attempts.js'
import { createLoginQueue } from '../src/domain/login-queue.js'

export default fp(async function throttlePlugin (fastify: FastifyInstance) {
  const { config } = fastify.simplejwt
  const redis = config.REDIS_URL === undefined ? undefined : connectRedis(config.REDIS_URL, config.REDIS_TIMEOUT * 1000, fastify.log)
  if (redis !== undefined) {
    fastify.addHook('onClose', async () => { redis.disconnect() })
    // Start shared when Redis is there: wait for it, at most REDIS_TIMEOUT (counting starts in-process otherwise).
    await new Promise<void>(resolve => {
      const done = () => {
        clearTimeout(timer)
        redis.off('ready', done)
        redis.off('error', done)
        resolve()
      }
      const timer = setTimeout(done, config.REDIS_TIMEOUT * 1000)
      redis.once('ready', done)
      redis.once('error', done)
    })
  }
  fastify.simplejwt.loginThrottle = createLoginThrottle({ username: config.LOGIN_THROTTLE_USERNAME, ip: config.LOGIN_THROTTLE_IP, redis })
  fastify.simplejwt.loginQueue = createLoginQueue({ size: config.LOGIN_QUEUE_SIZE, perClient: config.LOGIN_QUEUE_PER_CLIENT })
  fastify.simplejwt.refreshThrottle = createRefreshThrottle({ rate: config.REFRESH_THROTTLE, now: fastify.simplejwt.now, redis })
}, { name: 'simplejwt-throttle', dependencies: [] })
