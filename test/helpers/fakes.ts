// In-memory stores for the domain tests: the rules run without an app or a database, as
// @fastify/session's tests run on a fake store.
import { DuplicateUsername } from '../../src/domain/errors.js'
import type { AuthUser, BlacklistEntry, BlacklistReason, Issued, Presenter, RefreshRecord, TokenStatus, TokenStatusLookup, TokenStore, UserLookup, UserStore } from '../../src/domain/ports.js'
import type { NewUserRecord, UserRecord } from '../../src/domain/users.js'

export class FakeUserStore implements UserStore {
  readonly rows = new Map<number, UserRecord>()
  private nextId = 1

  async findById (id: number): Promise<UserRecord | undefined> {
    const row = this.rows.get(id)
    return row === undefined ? undefined : { ...row }
  }

  async findByUsername (username: string): Promise<UserRecord | undefined> {
    for (const row of this.rows.values()) if (row.username === username) return { ...row }
    return undefined
  }

  async create (user: NewUserRecord): Promise<Omit<UserRecord, 'password'>> {
    if (await this.findByUsername(user.username) !== undefined) throw new DuplicateUsername(user.username)
    const row: UserRecord = {
      id: user.id ?? this.nextId,
      firstName: '',
      lastName: '',
      email: '',
      isActive: true,
      isStaff: false,
      isSuperuser: false,
      lastLogin: null,
      dateJoined: new Date(0),
      tokensValidAfter: null,
      ...user
    }
    this.nextId = Math.max(this.nextId, row.id + 1)
    this.rows.set(row.id, row)
    const { password: _hash, ...stored } = row
    return stored
  }

  async updateById (id: number, changes: Partial<UserRecord>): Promise<UserRecord | undefined> {
    const row = this.rows.get(id)
    if (row === undefined) return undefined
    Object.assign(row, changes)
    return { ...row }
  }
}

/**
 * simplejwt's token_blacklist in memory: outstanding tokens, blacklist rows and revoked families, with
 * the store's promises (one rotation per token, one revocation per family). Records every revoke-all.
 */
export class FakeTokenStore implements TokenStore {
  readonly revocations: Array<{ userId: number, cutoff: Date }> = []
  readonly outstanding = new Map<string, RefreshRecord>()
  readonly blacklisted = new Map<string, BlacklistEntry & { expiresAt: Date }>()
  readonly revokedFamilies = new Set<string>()
  constructor (private readonly users?: FakeUserStore) {}

  async revokeAll (userId: number, clock: () => Date, changes: Partial<UserRecord> = {}): Promise<UserRecord | undefined> {
    const cutoff = clock()
    const updated = await this.users?.updateById(userId, { ...changes, tokensValidAfter: cutoff })
    if (this.users !== undefined && updated === undefined) return undefined
    this.revocations.push({ userId, cutoff })
    for (const token of this.outstanding.values()) {
      if (token.userId === userId && token.expiresAt > cutoff) this.blacklist(token.jti, 'revoke_all', token.expiresAt, cutoff)
    }
    return updated
  }

  async confirm (userId: number): Promise<UserRecord | undefined> {
    return this.users?.findById(userId)
  }

  /** Mints in one step (nothing runs in between in memory): the user as stored, then the records. */
  async issue<T> (userId: number, mint: (user: UserRecord | undefined) => Issued<T>): Promise<{ lost: false, value: T } | { lost: true }> {
    const issued = mint(await this.users?.findById(userId))
    if (issued.rotated !== undefined) {
      const old = issued.rotated
      if (!this.blacklist(old.jti, 'rotated', old.expiresAt, issued.outstand?.createdAt ?? new Date(), old.presenter)) return { lost: true }
    }
    if (issued.outstand !== undefined) await this.outstand(issued.outstand)
    return { lost: false, value: issued.value }
  }

  async outstand (token: RefreshRecord): Promise<void> {
    if (!this.outstanding.has(token.jti)) this.outstanding.set(token.jti, { ...token })
  }

  async status (jti: string): Promise<TokenStatus> {
    const blacklisted = this.blacklisted.get(jti)
    const family = this.outstanding.get(jti)?.family
    return { blacklisted: blacklisted && { ...blacklisted }, family, familyRevoked: family !== undefined && this.revokedFamilies.has(family) }
  }

  freshStatus (jti: string): Promise<TokenStatus> {
    return this.status(jti)
  }

  async add (jti: string, reason: BlacklistReason, expiresAt: Date, at: Date, presenter: Presenter = {}): Promise<boolean> {
    return this.blacklist(jti, reason, expiresAt, at, presenter)
  }

  async rotate (old: { jti: string, expiresAt: Date }, next: RefreshRecord, presenter: Presenter): Promise<boolean> {
    if (!this.blacklist(old.jti, 'rotated', old.expiresAt, next.createdAt, presenter)) return false
    this.outstanding.set(next.jti, { ...next })
    return true
  }

  async revokeFamily (family: string, _userId: number | undefined, at: Date): Promise<boolean> {
    const revoked = !this.revokedFamilies.has(family)
    this.revokedFamilies.add(family)
    for (const token of this.outstanding.values()) if (token.family === family) this.blacklist(token.jti, 'reuse', token.expiresAt, at)
    return revoked
  }

  private blacklist (jti: string, reason: BlacklistReason, expiresAt: Date, at: Date, presenter: Presenter = {}): boolean {
    if (this.blacklisted.has(jti)) return false
    this.blacklisted.set(jti, { jti, reason, blacklistedAt: at, expiresAt, ip: presenter.ip ?? null, userAgent: presenter.userAgent ?? null })
    return true
  }
}

/** Token statuses by jti, as the token-status cache answers them; unknown tokens are neither blacklisted nor revoked. */
export class FakeTokenStatuses implements TokenStatusLookup {
  readonly rows = new Map<string, TokenStatus>()
  readonly asked: string[] = []

  async status (jti: string): Promise<TokenStatus> {
    this.asked.push(jti)
    return this.rows.get(jti) ?? { familyRevoked: false }
  }
}

/** The user cache over a fake users store: the row without its password, counting lookups. */
export class FakeUserLookup implements UserLookup {
  lookups = 0
  constructor (private readonly users: FakeUserStore) {}

  async get (id: number): Promise<AuthUser | undefined> {
    this.lookups++
    const row = await this.users.findById(id)
    if (row === undefined) return undefined
    const { password: _password, lastLogin: _lastLogin, ...user } = row
    return user
  }
}
