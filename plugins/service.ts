import type { EventEmitter } from 'node:events'
import type { FastifyRequest } from 'fastify'
import type { Config } from '../src/domain/settings.js'
import type { Database, Db } from '../src/db/client.js'
import type { KeySet } from '../src/domain/keys.js'
import type { Accounts } from '../src/domain/accounts.js'
import type { TokenSerializers } from '../src/domain/serializers.js'
import type { TokenService } from '../src/domain/tokens.js'
import type { UsersRepository } from '../src/db/users.js'
import type { UserCache } from './user-cache.js'
import type { BlacklistRepository } from '../src/db/tokens.js'
import type { LoginThrottle, RefreshThrottle } from '../src/db/login-attempts.js'
import type { LoginQueue } from '../src/domain/login-queue.js'

/**
 * Everything the service is made of, under one decorator (`fastify.simplejwt`) so that it never
 * collides with an application's own `config`, `db` or `users`. The plugins of src/plugin.ts fill it
 * in, in dependency order; an application may use it once the plugin is registered.
 */
export interface SimpleJwt {
  /** The validated settings (src/domain/settings.ts). */
  config: Config
  /** The clock every token decision uses, in milliseconds since the epoch. */
  now: () => number
  /** The opened database: driver, migrations, listen, close. */
  database: Database
  /** The Drizzle handle, the same type on PGlite and on PostgreSQL. */
  db: Db
  /** The signing key and every verifying key, current and retired (src/domain/keys.ts). */
  keys: KeySet
  /** Mints and checks tokens with the configured algorithm, keys and clock (src/domain/tokens.ts). */
  tokens: TokenService
  /** The users table (Django's auth_user). */
  users: UsersRepository
  /** Emits `change` with a user id whenever this process changes a user. */
  userChanges: EventEmitter<{ change: [id: number] }>
  /** The users that authentication needs, kept in memory and dropped the moment they change. */
  userCache: UserCache
  /** Outstanding and blacklisted refresh tokens, revoked families (simplejwt's token_blacklist). */
  blacklist: BlacklistRepository
  /** Creating users, setting passwords, (de)activating: one rule for the admin API and the CLI. */
  accounts: Accounts
  /** The token views' rules: obtain, refresh (rotation, reuse), verify, blacklist, and the sliding three. */
  serializers: TokenSerializers
  /** Counts failed logins per username and per client IP (spec D10). */
  loginThrottle: LoginThrottle
  /** Bounds the password checks running or waiting, per client address and in all (src/domain/login-queue.ts). */
  loginQueue: LoginQueue
  /** Counts refreshes (and sliding refreshes) per user (REFRESH_THROTTLE). */
  refreshThrottle: RefreshThrottle
  /**
   * Authenticates a request as JWTAuthentication does and sets `request.user`, or throws DRF's 401
   * (an ApiError). `fastify.authenticate` is the same check as a hook that answers the 401 itself.
   */
  verifyRequest: (request: FastifyRequest) => Promise<void>
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The service: settings, database, tokens, users, blacklist (plugins/service.ts). */
    simplejwt: SimpleJwt
    /**
     * An `onRequest` (or `preHandler`) hook for protected routes: reads `Authorization`, validates the
     * token against AUTH_TOKEN_CLASSES and loads its active user into `request.user` (under
     * AUTH_STATELESS, builds it from the claims alone). Answers DRF's 401 itself otherwise, with
     * `WWW-Authenticate`, whatever the application's error handler does (JWTAuthentication).
     */
    authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>
  }
}

/** The service's first parts; the plugins registered after add the rest. */
export function createService (config: Config, now: () => number = Date.now): SimpleJwt {
  return { config, now } as SimpleJwt
}
