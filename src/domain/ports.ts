// What the rules need from outside, and nothing more: the stores behind them are src/db's (PostgreSQL
// or PGlite) in the service and the CLI, and in-memory fakes in the domain tests (test/helpers/fakes.ts).
import type { NewUserRecord, UserChanges, UserRecord } from './users.js'

/** The users (Django's auth_user). */
export interface UserStore {
  findById: (id: number) => Promise<UserRecord | undefined>
  findByUsername: (username: string) => Promise<UserRecord | undefined>
  /** Throws DuplicateUsername (domain/errors.ts) when the username is taken. */
  create: (user: NewUserRecord) => Promise<Omit<UserRecord, 'password'>>
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

/**
 * What a mint under a user's lock asks the store to record with it: the new token (OutstandingToken),
 * and for a rotation the presented token's blacklisting, which only one of concurrent rotations wins.
 */
export interface Issued<T> {
  value: T
  outstand?: RefreshRecord
  rotated?: { jti: string, expiresAt: Date, presenter: Presenter }
}

/** The refresh tokens users hold (simplejwt's token_blacklist), and the per-user revocation. */
export interface TokenStore {
  /**
   * Log out everywhere, serialised against every mint of the user (`issue`): waits for the mints in
   * flight, then reads the cut-off from `clock`, so that every token minted before it has an `iat` at
   * or before the cut-off; sets it with `changes` (a new password, a deactivation) in the same
   * transaction and blacklists the user's unexpired outstanding tokens. Undefined when there is no
   * such user.
   */
  revokeAll: (userId: number, clock: () => Date, changes?: UserChanges) => Promise<UserRecord | undefined>
  /**
   * The user as committed, read under the user's lock (FOR SHARE, one statement): waits for a
   * revocation in progress and sees it. Called after minting a token that needs no record (an access
   * token from a refresh, a refreshed sliding token), it settles the race without a transaction: a
   * revocation that committed first is seen here, and one that comes later reads its cut-off after
   * this read, hence after the mint. Undefined when the user is gone.
   */
  confirm: (userId: number) => Promise<UserRecord | undefined>
  /**
   * Mints under the user's lock, shared with other mints and exclusive of a revocation (`revokeAll`):
   * `mint` sees the user as the database has it now (undefined when gone) and may throw to refuse;
   * what it returns is recorded in the same transaction. `lost` when `rotated` was already blacklisted
   * (another request rotated the token first): then nothing is recorded.
   */
  issue: <T>(userId: number, mint: (user: UserRecord | undefined) => Issued<T>) => Promise<{ lost: false, value: T } | { lost: true }>
  /** Records a newly minted token outside any lock (imports, tests). */
  outstand: (token: RefreshRecord) => Promise<void>
  /** A token's status, from memory when the store keeps it there. */
  status: (jti: string) => Promise<TokenStatus>
  /** A token's status as the database has it now, never from memory. */
  freshStatus: (jti: string) => Promise<TokenStatus>
  /** Blacklists one token; true when this call did it, false when it already was. */
  add: (jti: string, reason: BlacklistReason, expiresAt: Date, at: Date, presenter?: Presenter) => Promise<boolean>
  /** Blacklists a whole family and marks it revoked; true when this call revoked it. */
  revokeFamily: (family: string, userId: number | undefined, at: Date, expiresAt: Date) => Promise<boolean>
}

/** What a token check needs of its user: whether it is active, and its revocation cut-off. */
export interface TokenUser { isActive: boolean, tokensValidAfter: Date | null, dateJoined: Date }

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

/** A token's status by its jti (the token-status cache in front of src/db/tokens.ts). */
export interface TokenStatusLookup {
  status: (jti: string) => Promise<TokenStatus>
}

/** What authentication needs of a user; no password hash. */
export type AuthUser = Pick<UserRecord, 'id' | 'username' | 'firstName' | 'lastName' | 'email' | 'isActive' | 'isStaff' | 'isSuperuser' | 'tokensValidAfter' | 'dateJoined'>

/** The users authentication loads, by id (the user cache in front of the users store). */
export interface UserLookup {
  get: (id: number) => Promise<AuthUser | undefined>
}
