// auth.User as the rules see it: the record every store keeps, whatever the database (Django's auth_user)

/** auth.User's field limits, as Django declares them (username 150, names 150, email 254; the password is ours). */
export const USERNAME_MAX_LENGTH = 150
export const NAME_MAX_LENGTH = 150
export const EMAIL_MAX_LENGTH = 254
/** The longest password a login or a new password may carry: checked before any hashing. */
export const PASSWORD_MAX_LENGTH = 4096
/** The largest id the users table can hold (PostgreSQL integer), as Django's AutoField on PostgreSQL. */
export const MAX_USER_ID = 2_147_483_647

/** A user as stored: Django's auth_user columns, plus the per-user revocation cut-off. */
export interface UserRecord {
  id: number
  username: string
  /** The password hash in Django's encoding; never leaves the service. */
  password: string
  firstName: string
  lastName: string
  email: string
  isActive: boolean
  isStaff: boolean
  isSuperuser: boolean
  lastLogin: Date | null
  dateJoined: Date
  /** Every token issued before this instant is refused (password change, deactivation, log out everywhere). */
  tokensValidAfter: Date | null
}

/** What a new user needs; the rest takes Django's defaults. */
export type NewUserRecord = Pick<UserRecord, 'username' | 'password'> & Partial<Omit<UserRecord, 'id' | 'username' | 'password'>> & { id?: number }

/** The fields an update may change: never the id or the username. */
export type UserChanges = Partial<Omit<UserRecord, 'id' | 'username'>>
