// The token views' rules, without HTTP: what each of simplejwt's serializers validates and returns
// (obtain pair, refresh with rotation and reuse detection, verify, blacklist; the sliding three), over
// the stores of domain/ports.ts; mirrors rest_framework_simplejwt/serializers.py. A route is its wire
// schema and one call to one of these.
import { AuthenticationFailed, InvalidToken, TokenError, TOKEN_MESSAGES } from './errors.js'
import { hashPassword, needsRehash, verifyDummyPassword, verifyPassword, type PasswordLog } from './passwords.js'
import type { LoginQueue } from './login-queue.js'
import type { LoginAttempts, Presenter, RefreshAttempts, RefreshRecord, TokenStatus, TokenStore, TokenUser, TokenUsers, UserStore } from './ports.js'
import { normalizeUsername, type UserRecord } from './users.js'
import type { Config } from './settings.js'
import { isCutOff, isRevoked, REFRESH_EXP_CLAIM, type Claims, type TokenService } from './tokens.js'

/** What the credentials check needs of the users store: the lookup, and the rehash of a legacy hash. */
export type CredentialUsers = Pick<UserStore, 'findByUsername'> & {
  /** Replaces `current` with `next` unless the hash changed meanwhile; true when it did. */
  rehashPassword: (id: number, current: string, next: string) => Promise<boolean>
}

/** Runs a token check; a TokenError becomes simplejwt's 401 InvalidToken, as in TokenViewBase.post. */
export function orInvalid<T> (check: () => T): T {
  try {
    return check()
  } catch (err) {
    if (err instanceof TokenError) throw new InvalidToken(err.message)
    throw err
  }
}

/** simplejwt's 401 for a blacklisted (or revoked) token. */
export const blacklisted = () => new InvalidToken(TOKEN_MESSAGES.blacklisted)

/** The request's log, as the rules write to it. */
export type RequestLog = PasswordLog & { child: (bindings: Record<string, unknown>) => PasswordLog }

/** Who is asking: the client's address and agent (for the throttle and the reuse warning), and the request's log. */
export interface Caller extends Presenter {
  ip: string
  log: RequestLog
}

/**
 * TokenObtainSerializer.validate: the active user these credentials name, or simplejwt's 401.
 * The attempt takes its point from the throttle first (spec D10: past the limit, 429 and no hash is
 * even tried; the point is taken before the check, so that concurrent attempts cannot all pass a
 * limit that only failures would have reached), then a place in the login queue (429 or 503 at once
 * when this client or everyone has too many checks waiting; the point is then given back, as it is
 * after a server fault); unknown, inactive and wrong-password logins cost the same hash, get the same
 * answer and keep their point; a successful login clears the username's count, gives the address
 * its point back, and rehashes a legacy hash.
 */
export async function authenticateCredentials (
  { users, loginThrottle, loginQueue }: { users: CredentialUsers, loginThrottle: LoginAttempts, loginQueue: LoginQueue },
  credentials: { username: string, password: string, ip: string, log: RequestLog }
): Promise<UserRecord> {
  const { password, ip, log } = credentials
  // NFKC as on create (unlike Django's login): a look-alike logs in as, and is throttled with, the name it looks like.
  const username = normalizeUsername(credentials.username)
  await loginThrottle.consume(username, ip)
  // What becomes of the point taken: kept by a failure, given back otherwise.
  let outcome: 'failed' | 'succeeded' | 'not checked' = 'not checked'
  try {
    const leave = loginQueue.enter(ip)
    let user: UserRecord | undefined
    let matches: boolean
    try {
      user = await users.findByUsername(username)
      matches = user === undefined
        ? await verifyDummyPassword(password)
        : await verifyPassword(user.password, password, log.child({ userId: user.id }))
      // As Django's check_password does: a hash from Django (or an older setting, or --harden) becomes
      // our argon2id now, while the plain password is at hand. Only after a successful login, so that
      // the extra hash cannot tell a right password from a wrong one for an inactive account.
      if (user !== undefined && matches && user.isActive && needsRehash(user.password)) {
        const rehashed = await hashPassword(password)
        if (await users.rehashPassword(user.id, user.password, rehashed)) user = { ...user, password: rehashed }
      }
    } finally {
      leave()
    }
    if (user === undefined || !matches || !user.isActive) {
      outcome = 'failed'
      throw badCredentials()
    }
    outcome = 'succeeded'
    return user
  } finally {
    if (outcome === 'succeeded') await loginThrottle.succeeded(username, ip)
    else if (outcome === 'not checked') await loginThrottle.refund(username, ip)
  }
}

/** The settings the token rules read. */
export type SerializerSettings = Pick<Config,
  'JTI_CLAIM' | 'TOKEN_TYPE_CLAIM' | 'UPDATE_LAST_LOGIN' | 'ROTATE_REFRESH_TOKENS' | 'BLACKLIST_AFTER_ROTATION' |
  'REFRESH_REUSE_DETECTION' | 'REFRESH_REUSE_INTERVAL' | 'REFRESH_TOKEN_LIFETIME' | 'SLIDING_TOKEN_LIFETIME'>

/** Everything the token rules use: the backend, the stores, the counters, the settings and the clock. */
export interface SerializerDeps {
  config: SerializerSettings
  /** Milliseconds since the epoch. */
  now: () => number
  tokens: TokenService
  users: CredentialUsers & { touchLastLogin: (id: number, at: Date) => Promise<void> }
  /** The users token checks load (the user cache in the service). */
  userCache: TokenUsers
  blacklist: TokenStore
  loginThrottle: LoginAttempts
  loginQueue: LoginQueue
  refreshThrottle: RefreshAttempts
}

const noActiveAccount = () => new AuthenticationFailed('No active account found for the given token.', 'no_active_account')
const badCredentials = () => new AuthenticationFailed('No active account found with the given credentials')

/**
 * The token serializers of simplejwt, one function each, with what we add: token families and
 * theft-safe rotation, reuse detection, the per-user cut-off (log out everywhere), REFRESH_THROTTLE.
 * Each throws the domain errors (domain/errors.ts) that the error handler turns into DRF bodies.
 */
export function createTokenSerializers (deps: SerializerDeps) {
  const { config, now, tokens, users, userCache, blacklist, refreshThrottle } = deps
  const jtiOf = (claims: Claims) => claims[config.JTI_CLAIM] as string
  const expiresAt = (claims: Claims) => new Date((claims.exp as number) * 1000)
  // A sliding token keeps its jti through every refresh, so its rows must outlive the last token a
  // refresh can mint: refresh_exp plus one lifetime.
  const lastSlidingExpiry = (claims: Claims) => typeof claims[REFRESH_EXP_CLAIM] === 'number'
    ? new Date(((claims[REFRESH_EXP_CLAIM]) + config.SLIDING_TOKEN_LIFETIME) * 1000)
    : expiresAt(claims)

  /** A login starts a family: its first token's jti names it, and every rotation inherits it. */
  const familyRoot = (claims: Claims, userId: number, until: Date): RefreshRecord =>
    ({ jti: jtiOf(claims), userId, family: jtiOf(claims), createdAt: new Date(now()), expiresAt: until })

  /** A token's user must be there and active, and the token issued after the user's cut-off. */
  function checkUser (user: TokenUser | undefined, claims: Claims): void {
    if (user === undefined || !user.isActive) throw noActiveAccount()
    if (isCutOff(claims, user)) throw blacklisted()
  }

  /**
   * Mints for a login, under the user's lock (TokenStore.issue): the checked password must still be
   * the user's and the user still active, so that a login checked before a password change or a
   * deactivation, but minting after it, gets nothing; one minting before it has its tokens issued at
   * or before the revocation's cut-off, which refuses them.
   */
  async function issueForLogin<T> (user: UserRecord, mint: (current: UserRecord) => { value: T, outstand: RefreshRecord }): Promise<T> {
    const issued = await blacklist.issue(user.id, (current) => {
      if (current === undefined || !current.isActive || current.password !== user.password) throw badCredentials()
      return mint(current)
    })
    if (issued.lost) throw badCredentials()
    if (config.UPDATE_LAST_LOGIN) await users.touchLastLogin(user.id, new Date(now()))
    return issued.value
  }

  /**
   * A rotated-away refresh token came back: either a thief or the rightful client is replaying it, and
   * we cannot tell which, so the whole family goes. Within REFRESH_REUSE_INTERVAL of the rotation, a
   * replay is taken for a client's own retry and only refused.
   */
  async function onReuse (status: TokenStatus, userId: number | undefined, caller: Caller): Promise<void> {
    const row = status.blacklisted
    if (!config.REFRESH_REUSE_DETECTION || row === undefined || row.reason !== 'rotated') return
    const at = now()
    if (at - row.blacklistedAt.getTime() < config.REFRESH_REUSE_INTERVAL * 1000) return
    const family = status.family ?? row.jti
    const revoked = await blacklist.revokeFamily(family, userId, new Date(at), new Date(at + config.REFRESH_TOKEN_LIFETIME * 1000))
    if (revoked) {
      caller.log.warn({
        event: 'refresh_token_reuse',
        userId,
        family,
        rotatedBy: { ip: row.ip, userAgent: row.userAgent },
        replayedBy: { ip: caller.ip, userAgent: caller.userAgent }
      }, 'a rotated-away refresh token was presented again: its whole family is revoked')
    }
  }

  /** simplejwt's BlacklistMixin.check_blacklist, plus revoked families and reuse detection. */
  async function checkBlacklist (status: TokenStatus, userId: number | undefined, caller: Caller): Promise<void> {
    if (!isRevoked(status)) return
    // A blacklisted token presented again may be a stolen one that was rotated away: its family goes.
    if (status.blacklisted !== undefined) await onReuse(status, userId, caller)
    throw blacklisted()
  }

  /**
   * What a refresh checks beyond the token itself: REFRESH_THROTTLE (counted per user before any
   * lookup, whatever the outcome), the blacklist and the family, the user (active, spec D2) and the
   * user's cut-off. Returns the user id and the token's status.
   */
  async function checkRefreshable (raw: string, claims: Claims, caller: Caller): Promise<{ userId: number, status: TokenStatus }> {
    const userId = tokens.userId(raw, claims)
    if (userId === undefined) throw new InvalidToken(TOKEN_MESSAGES.noUser)
    await refreshThrottle.hit(userId)
    const [status, user] = await Promise.all([blacklist.status(jtiOf(claims)), userCache.get(userId)])
    await checkBlacklist(status, userId, caller)
    checkUser(user, claims)
    return { userId, status }
  }

  return {
    /** TokenObtainPairSerializer: a refresh and an access token for the credentials' user. */
    async obtainPair (credentials: { username: string, password: string }, caller: Caller): Promise<{ refresh: string, access: string }> {
      const user = await authenticateCredentials(deps, { ...credentials, ip: caller.ip, log: caller.log })
      // The application's claims first: its hook never runs under the user's lock.
      const extra = await tokens.claimsFor(user)
      return issueForLogin(user, (current) => {
        const { refresh, access, refreshClaims } = tokens.obtainPair(current.id, extra)
        return { value: { refresh, access }, outstand: familyRoot(refreshClaims, current.id, expiresAt(refreshClaims)) }
      })
    },

    /**
     * TokenRefreshSerializer: a new access token; under ROTATE_REFRESH_TOKENS the next refresh token
     * too, and under BLACKLIST_AFTER_ROTATION the presented one blacklisted in the same step. Of
     * concurrent refreshes of one token only one rotates (spec D8); the others are replays.
     */
    async refresh (raw: string, caller: Caller): Promise<{ access: string, refresh?: string }> {
      const claims = orInvalid(() => tokens.validate(raw, 'refresh'))
      // From memory first: a revoked token is refused (and a replay detected) without a transaction.
      const { userId, status } = await checkRefreshable(raw, claims, caller)
      const jti = jtiOf(claims)
      // Then under the user's lock, against the user as committed now: a revocation since the check
      // above refuses the refresh, and one after it finds this refresh's tokens at or before its cut-off.
      // A revocation in progress is waited for, and read after it has committed.
      if (!config.ROTATE_REFRESH_TOKENS) {
        // Nothing to record: mint, then read the user under its lock (TokenStore.confirm).
        const access = tokens.accessFrom(claims)
        checkUser(await blacklist.confirm(userId), claims)
        return { access }
      }
      const issued = await blacklist.issue<{ access: string, refresh?: string }>(userId, (user) => {
        checkUser(user, claims)
        const access = tokens.accessFrom(claims)
        const next = tokens.rotate(claims)
        return {
          value: { access, refresh: next.token },
          outstand: { jti: next.jti, userId, family: status.family ?? jti, parentJti: jti, createdAt: new Date(now()), expiresAt: new Date(next.exp * 1000) },
          rotated: config.BLACKLIST_AFTER_ROTATION ? { jti, expiresAt: expiresAt(claims), presenter: caller } : undefined
        }
      })
      if (issued.lost) {
        // Another request rotated this token first (spec D8): it is a replay like any other.
        await checkBlacklist(await blacklist.freshStatus(jti), userId, caller)
        throw blacklisted()
      }
      return issued.value
    },

    /**
     * TokenVerifySerializer: any valid token passes, unless it is blacklisted (spec D1: whatever the
     * settings) or from before its user's cut-off.
     */
    async verify (raw: string): Promise<void> {
      const claims = orInvalid(() => tokens.validate(raw))
      const userId = tokens.userId(raw, claims)
      // Only refresh and sliding tokens are ever blacklisted: an access token needs no lookup.
      const blacklistable = claims[config.TOKEN_TYPE_CLAIM] !== 'access'
      const [status, user] = await Promise.all([
        blacklistable ? blacklist.status(jtiOf(claims)) : undefined,
        userId === undefined ? undefined : userCache.get(userId)
      ])
      if (status !== undefined && isRevoked(status)) throw blacklisted()
      // simplejwt's verify reads no user, and a token naming nobody here still passes; but the token
      // of a deactivated user is refused, as is one from before the user's cut-off.
      if (user !== undefined) checkUser(user, claims)
    },

    /**
     * TokenBlacklistSerializer (log out): blacklists a refresh token, recorded as outstanding or not
     * (minted before the table, or by Django). A rotated-away one presented here revokes its family.
     */
    async blacklist (raw: string, caller: Caller): Promise<void> {
      const claims = orInvalid(() => tokens.validate(raw, 'refresh'))
      const jti = jtiOf(claims)
      await checkBlacklist(await blacklist.status(jti), tokens.userId(raw, claims), caller)
      if (!await blacklist.add(jti, 'logout', expiresAt(claims), new Date(now()), caller)) throw blacklisted()
    },

    /** TokenObtainSlidingSerializer: a sliding token, recorded as outstanding; it starts its own family. */
    async obtainSliding (credentials: { username: string, password: string }, caller: Caller): Promise<{ token: string }> {
      const user = await authenticateCredentials(deps, { ...credentials, ip: caller.ip, log: caller.log })
      const extra = await tokens.claimsFor(user)
      return issueForLogin(user, (current) => {
        const { token, claims } = tokens.obtainSliding(current.id, extra)
        return { value: { token }, outstand: familyRoot(claims, current.id, lastSlidingExpiry(claims)) }
      })
    },

    /** TokenRefreshSlidingSerializer: the same token with a renewed exp, until its refresh_exp. */
    async refreshSliding (raw: string, caller: Caller): Promise<{ token: string }> {
      const claims = orInvalid(() => tokens.validate(raw, 'sliding'))
      const { userId } = await checkRefreshable(raw, claims, caller)
      // Nothing to record: mint, then read the user under its lock (TokenStore.confirm).
      const { token } = orInvalid(() => tokens.refreshSliding(claims))
      checkUser(await blacklist.confirm(userId), claims)
      return { token }
    },

    /** Not in simplejwt: log out of a sliding token, by its jti (it and every refresh of it). */
    async blacklistSliding (raw: string, caller: Caller): Promise<void> {
      const claims = orInvalid(() => tokens.validate(raw, 'sliding'))
      const jti = jtiOf(claims)
      if (isRevoked(await blacklist.status(jti))) throw blacklisted()
      if (!await blacklist.add(jti, 'logout', lastSlidingExpiry(claims), new Date(now()), caller)) throw blacklisted()
    }
  }
}

export type TokenSerializers = ReturnType<typeof createTokenSerializers>
