// One rule for the CLI and the admin API: what creating a user, setting a password and (de)activating
// mean. Django's set_password and is_active, plus what simplejwt leaves to the project: a new password
// or a deactivation revokes every token the user holds, whichever way it is made.
import { hashPassword } from './passwords.js'
import type { TokenStore, UserStore } from './ports.js'
import type { UserChanges, UserRecord } from './users.js'

/** A user to create, with the password in plain text (it is hashed here, never stored as given). */
export interface NewAccount {
  username: string
  password: string
  firstName?: string
  lastName?: string
  email?: string
  isActive?: boolean
  isStaff?: boolean
  isSuperuser?: boolean
}

/** What an update may change: names, email and flags (the password has setPassword). */
export type AccountChanges = Pick<UserChanges, 'firstName' | 'lastName' | 'email' | 'isActive' | 'isStaff' | 'isSuperuser'>

export interface AccountsOptions {
  users: Pick<UserStore, 'create' | 'updateById'>
  tokens: TokenStore
  /** Milliseconds since the epoch: the cut-off of a revocation, a new user's date_joined. */
  now: () => number
}

export function createAccounts ({ users, tokens, now }: AccountsOptions) {
  const clock = () => new Date(now())

  return {
    /** Creates a user (argon2id hash); throws DuplicateUsername when the name is taken. */
    async create ({ password, ...fields }: NewAccount): Promise<UserRecord> {
      return users.create({ ...fields, password: await hashPassword(password), dateJoined: new Date(now()) })
    },

    /**
     * Changes names, email and flags. Deactivating revokes every token of the user, so that
     * reactivating later does not bring the old ones back.
     */
    async update (id: number, changes: AccountChanges): Promise<UserRecord | undefined> {
      // One transaction, serialised against the user's logins and refreshes (TokenStore.revokeAll).
      if (changes.isActive === false) return tokens.revokeAll(id, clock, changes)
      return users.updateById(id, changes)
    },

    /** Sets a new password and revokes every token from the old one. Undefined when there is no such user. */
    async setPassword (id: number, password: string): Promise<UserRecord | undefined> {
      return tokens.revokeAll(id, clock, { password: await hashPassword(password) })
    },

    /** Log out everywhere: every refresh token blacklisted, every earlier access token refused. */
    async revokeAll (id: number): Promise<void> {
      await tokens.revokeAll(id, clock)
    }
  }
}

export type Accounts = ReturnType<typeof createAccounts>
