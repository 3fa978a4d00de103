// What the rules need from outside, and nothing more: the stores behind them are src/db's (PostgreSQL
// or PGlite) in the service and the CLI, and in-memory fakes in the domain tests (test/helpers/fakes.ts).
import type { NewUserRecord, UserChanges, UserRecord } from './users.js'

/** The users (Django's auth_user). */
export interface UserStore {
  findById: (id: number) => Promise<UserRecord | undefined>
  findByUsername: (username: string) => Promise<UserRecord | undefined>
  /** Throws DuplicateUsername (domain/errors.ts) when the username is taken. */
  create: (user: NewUserRecord) => Promise<UserRecord>
  /** Undefined when there is no such user. */
  updateById: (id: number, changes: UserChanges) => Promise<UserRecord | undefined>
}

/** The refresh tokens a user holds (simplejwt's token_blacklist). */
export interface TokenStore {
  /** Blacklists every unexpired outstanding token of the user and sets the user's cut-off. */
  revokeAll: (userId: number, cutoff: Date) => Promise<void>
}

/** The failed-login counters per username and per client address (src/db/login-attempts.ts). */
export interface LoginAttempts {
  /** Throws Throttled (429) when the username or the address has failed too often recently. */
  check: (username: string, ip: string) => Promise<void>
  /** Counts one failed login against the username and the address. */
  failed: (username: string, ip: string) => Promise<void>
  /** A successful login clears the username's failures. */
  succeeded: (username: string) => Promise<void>
}

/** What the database knows of a refresh or sliding token (src/db/tokens.ts's TokenStatus has this shape). */
export interface TokenStatus {
  /** The blacklist row, when the token is blacklisted. */
  blacklisted?: unknown
  /** True when the token's family was revoked after a reuse. */
  familyRevoked: boolean
}

/** A token's status by its jti (the token-status cache in front of src/db/tokens.ts). */
export interface TokenStatusLookup {
  status: (jti: string) => Promise<TokenStatus>
}

/** What authentication needs of a user; no password hash. */
export type AuthUser = Pick<UserRecord, 'id' | 'username' | 'firstName' | 'lastName' | 'email' | 'isActive' | 'isStaff' | 'isSuperuser' | 'tokensValidAfter'>

/** The users authentication loads, by id (the user cache in front of the users store). */
export interface UserLookup {
  get: (id: number) => Promise<AuthUser | undefined>
}
