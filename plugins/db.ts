import fp from 'fastify-plugin'
import { openDatabase, type Database, type Db } from '../src/db/client.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The Drizzle handle, the same type on PGlite and on PostgreSQL. */
    db: Db
    /** The opened database: driver, migrations, close. */
    database: Database
  }
}

export interface DbPluginOptions {
  /** A database opened by the caller, who also closes it; otherwise DATABASE_URL is opened here. */
  database?: Database
}

export default fp<DbPluginOptions>(async function dbPlugin (fastify, options) {
  const { config } = fastify
  const database = options.database ?? await openDatabase(config.DATABASE_URL, { dataDir: config.DATA_DIR })
  if (options.database === undefined) fastify.addHook('onClose', () => database.close())
  if (config.MIGRATE_ON_START) await database.migrate()
  fastify.decorate('database', database)
  fastify.decorate('db', database.db)
}, { name: 'db', dependencies: ['config'] })
