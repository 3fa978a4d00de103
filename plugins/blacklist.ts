// fastify.simplejwt.blacklist: the token store (src/db/tokens.ts) with its status cache, kept in step
// with every instance through LISTEN/NOTIFY.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { followNotifications } from '../src/db/caches.js'
import { createBlacklistRepository, TOKEN_BLACKLISTED_CHANNEL } from '../src/db/tokens.js'

export default fp(async function blacklistPlugin (fastify: FastifyInstance) {
  const { config, db, database, userChanges } = fastify.simplejwt
  const blacklist = createBlacklistRepository(db, (id) => userChanges.emit('change', id), {
    ttlMs: config.USER_CACHE_TTL * 1000,
    maxEntries: config.USER_CACHE_SIZE,
    now: Date.now
  })
  fastify.simplejwt.blacklist = blacklist
  const cache = blacklist.statusCache
  if (cache === undefined) return
  // A token blacklisted by another instance, the CLI or plain SQL; while the LISTEN connection is down,
  // anything may have been, and statuses are read from the database (src/domain/cache.ts, follow).
  const unlisten = await followNotifications(database, TOKEN_BLACKLISTED_CHANNEL, cache, (jti) => jti)
  fastify.addHook('onClose', async () => { await unlisten().catch(() => {}) })
}, { name: 'simplejwt-blacklist', dependencies: ['simplejwt-db', 'simplejwt-users'] })
