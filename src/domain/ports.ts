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

/** Who presented a token: named in the reuse warning, never the token itself. */
export interface Presenter { ip?: string, userAgent?: string }

/** Why a token is on the blacklist. */
export type BlacklistReason = 'rotated' | 'logout' | 'reuse' | 'revoke_all' | 'django'

/** A refresh (or sliding) token as the store records it when it is minted (OutstandingToken). */
export interface RefreshRecord {
  jti: string
  userId: number
  /** The jti of the login that started the family; every rotation inherits it. */
  family: string
  parentJti?: string
  createdAt: Date
  expiresAt: Date
}

/** A blacklist row (BlacklistedToken), with who presented the token when it was blacklisted. */
export interface BlacklistEntry {
  jti: string
  reason: BlacklistReason
  blacklistedAt: Date
  ip: string | null
  userAgent: string | null
}

/** What the store knows about one token. */
export interface TokenStatus {
  /** The blacklist row, when the token is blacklisted. */
  blacklisted?: BlacklistEntry
  /** The token's family, when it was recorded as outstanding. */
  family?: string
  /** True when the token's family was revoked after a reuse. */
  familyRevoked: boolean
}

/** The refresh tokens users hold (simplejwt's token_blacklist). */
export interface TokenStore {
  /** Blacklists every unexpired outstanding token of the user and sets the user's cut-off. */
  revokeAll: (userId: number, cutoff: Date) => Promise<void>
  /** Records a newly minted token. */
  outstand: (token: RefreshRecord) => Promise<void>
  /** A token's status, from memory when the store keeps it there. */
  status: (jti: string) => Promise<TokenStatus>
  /** A token's status as the database has it now, never from memory. */
  freshStatus: (jti: string) => Promise<TokenStatus>
  /** Blacklists one token; true when this call did it, false when it already was. */
  add: (jti: string, reason: BlacklistReason, expiresAt: Date, at: Date, presenter?: Presenter) => Promise<boolean>
  /**
   * Blacklists `old` and records `next`, atomically; of concurrent calls for one token exactly one
   * returns true, and the others change nothing.
   */
  rotate: (old: { jti: string, expiresAt: Date }, next: RefreshRecord, presenter: Presenter) => Promise<boolean>
  /** Blacklists a whole family and marks it revoked; true when this call revoked it. */
  revokeFamily: (family: string, userId: number | undefined, at: Date, expiresAt: Date) => Promise<boolean>
}

/** What a token check needs of its user: whether it is active, and its revocation cut-off. */
export interface TokenUser { isActive: boolean, tokensValidAfter: Date | null }

/** The users token checks load, by id (the user cache in the service). */
export interface TokenUsers {
  get: (id: number) => Promise<TokenUser | undefined>
}

/** Counts refreshes per user (REFRESH_THROTTLE); throws Throttled (429) past the rate. */
export interface RefreshAttempts {
  hit: (userId: number) => Promise<void>
}

/**
 * The failed-login counters per username and per client address (src/db/login-attempts.ts). Every
 * attempt takes its point before the password is checked, so that however many logins arrive at
 * once, no more than the limit are checked (issue 15, finding 3).
 */
export interface LoginAttempts {
  /**
   * Takes one point from the username's and the address's counters, atomically each (in Redis, for
   * every instance); throws Throttled (429) when either is exhausted, and then counts nothing.
   */
  consume: (username: string, ip: string) => Promise<void>
  /** The attempt was no failed login after all (refused by the login queue, a server fault): its points go back. */
  refund: (username: string, ip: string) => Promise<void>
  /** A successful login clears the username's failures and gives the address its point back. */
  succeeded: (username: string, ip: string) => Promise<void>
}
