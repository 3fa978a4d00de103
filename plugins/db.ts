import fp from 'fastify-plugin'
import { resolveDatabase, type DatabaseOption } from '../src/db/client.js'

export interface DbPluginOptions {
  /** A connection string, or a database handle of the caller's, who closes it (src/db/client.ts). */
  database?: DatabaseOption
}

export default fp<DbPluginOptions>(async function dbPlugin (fastify, options) {
  const { config } = fastify.simplejwt
  const database = await resolveDatabase(options.database, config.DATABASE_URL, {
    dataDir: config.DATA_DIR,
    timeoutMs: config.DATABASE_TIMEOUT * 1000,
    onWarning: message => fastify.log.warn({ dataDir: config.DATA_DIR }, message)
  })
  // Closes only what it opened: a handle of the application's is the application's to close.
  fastify.addHook('onClose', () => database.close())
  if (config.MIGRATE_ON_START) await database.migrate()
  fastify.simplejwt.database = database
  fastify.simplejwt.db = database.db
}, { name: 'simplejwt-db', dependencies: [] })
