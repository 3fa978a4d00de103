// The database a command works on: opened (and migrated when asked or configured), the stores and the
// account rules built over it, and closed whatever happens, so no command leaves a connection open.
import { passwordRules, type Config } from '../domain/settings.js'
import { openDatabase, type Database } from '../db/client.js'
import { createAccounts, type Accounts } from '../domain/accounts.js'
import { createUsersRepository, type UsersRepository } from '../db/users.js'
import { createBlacklistRepository, type BlacklistRepository } from '../db/tokens.js'

export interface Stores {
  database: Database
  users: UsersRepository
  tokens: BlacklistRepository
  /** The same account rules the admin API follows (a new password or a deactivation revokes every token). */
  accounts: Accounts
}

/** `migrate`: true to apply pending migrations, false never (a dry run), MIGRATE_ON_START when left out. */
export async function withStores<T> (config: Config, work: (stores: Stores) => Promise<T>, options: { migrate?: boolean | undefined } = {}): Promise<T> {
  const database = await openDatabase(config.DATABASE_URL, { dataDir: config.DATA_DIR })
  try {
    if (options.migrate ?? config.MIGRATE_ON_START) await database.migrate()
    const users = createUsersRepository(database.db)
    const tokens = createBlacklistRepository(database.db)
    return await work({ database, users, tokens, accounts: createAccounts({ users, tokens, now: Date.now, passwordRules: passwordRules(config) }) })
  } finally {
    await database.close()
  }
}
