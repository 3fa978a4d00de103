// One rule for the CLI and the admin API: what creating a user, setting a password and (de)activating
// mean. Django's create_user (the username NFKC-normalised), validate_password and set_password, and
// is_active, plus what simplejwt leaves to the project: a new password or a deactivation revokes every
// token the user holds, whichever way it is made.
import { ValidationError } from './errors.js'
import { DEFAULT_PASSWORD_RULES, validatePassword, type PasswordRules } from './password-validation.js'
import { hashPassword } from './passwords.js'
import type { TokenStore, UserStore } from './ports.js'
import { normalizeUsername, USERNAME_MAX_LENGTH, type UserChanges, type UserRecord } from './users.js'

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
  users: Pick<UserStore, 'create' | 'updateById' | 'findById'>
  tokens: TokenStore
  /** Milliseconds since the epoch: the cut-off of a revocation, a new user's date_joined. */
  now: () => number
  /** The rules a new password must pass (settings PASSWORD_VALIDATORS, PASSWORD_MIN_LENGTH); Django's defaults when omitted. */
  passwordRules?: PasswordRules
}

export function createAccounts ({ users, tokens, now, passwordRules = DEFAULT_PASSWORD_RULES }: AccountsOptions) {
  const clock = () => new Date(now())

  return {
    /**
     * Creates a user (argon2id hash) under the NFKC form of the username; throws ValidationError
     * `{"password": [...]}` when the password fails a rule, DuplicateUsername when the name is taken.
     */
    async create ({ password, ...fields }: NewAccount): Promise<Omit<UserRecord, 'password'>> {
      const username = normalizeUsername(fields.username)
      // NFKC may lengthen a name (ﬁ is two letters): the column holds 150.
      if ([...username].length > USERNAME_MAX_LENGTH) throw new ValidationError({ username: [`Ensure this field has no more than ${USERNAME_MAX_LENGTH} characters.`] })
      await validatePassword(password, { ...fields, username }, passwordRules)
      return users.create({ ...fields, username, password: await hashPassword(password), dateJoined: new Date(now()) })
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

    /**
     * Sets a new password and revokes every token from the old one. Undefined when there is no such
     * user; ValidationError `{"password": [...]}` when the password fails a rule (nothing changes then).
     */
    async setPassword (id: number, password: string): Promise<UserRecord | undefined> {
      const user = await users.findById(id)
      if (user === undefined) return undefined
      await validatePassword(password, user, passwordRules)
      return tokens.revokeAll(id, clock, { password: await hashPassword(password) })
    },

    /** Log out everywhere: every refresh token blacklisted, every earlier access token refused. */
    async revokeAll (id: number): Promise<void> {
      await tokens.revokeAll(id, clock)
    }
  }
}

export type Accounts = ReturnType<typeof createAccounts>
