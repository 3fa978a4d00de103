// In-memory stores for the domain tests: the rules run without an app or a database, as
// @fastify/session's tests run on a fake store.
import { DuplicateUsername } from '../../src/domain/errors.js'
import type { AuthUser, TokenStatus, TokenStatusLookup, TokenStore, UserLookup, UserStore } from '../../src/domain/ports.js'
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

  async create (user: NewUserRecord): Promise<UserRecord> {
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
    return { ...row }
  }

  async updateById (id: number, changes: Partial<UserRecord>): Promise<UserRecord | undefined> {
    const row = this.rows.get(id)
    if (row === undefined) return undefined
    Object.assign(row, changes)
    return { ...row }
  }
}

/** Records every revocation, and sets the user's cut-off as the real store does. */
export class FakeTokenStore implements TokenStore {
  readonly revocations: Array<{ userId: number, cutoff: Date }> = []
  constructor (private readonly users?: FakeUserStore) {}

  async revokeAll (userId: number, cutoff: Date): Promise<void> {
    this.revocations.push({ userId, cutoff })
    await this.users?.updateById(userId, { tokensValidAfter: cutoff })
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
    const { password: _password, lastLogin: _lastLogin, dateJoined: _dateJoined, ...user } = row
    return user
  }
}
