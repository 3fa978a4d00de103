// auth.User as the rules see it: the record every store keeps, whatever the database (Django's auth_user),
// and its fields as the admin API's serializers declare them
import { booleanField, charField, type Fields, validateEmail, validateUsername } from './drf-fields.js'

/**
 * auth.User's field limits, as Django declares them (username 150, names 150, email 254; the password is ours),
 * in characters as Python's len() counts them: code points, not UTF-16 code units (drf-fields.ts pythonLength;
 * Ajv's maxLength counts the same way, and so does PostgreSQL's varchar(n)).
 */
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

/**
 * AbstractBaseUser.normalize_username: Unicode NFKC, so that look-alikes (the Kelvin sign K, fullwidth
 * ｓｐｉｄｅｒｍａｎ, the ligature ﬁ) are the plain name they look like. Applied on create, on import and,
 * unlike Django, on login too (docs/differences-from-simplejwt.md).
 */
export function normalizeUsername (username: string): string {
  return username.normalize('NFKC')
}

/** Django's message for a username that is taken (auth.User.username's unique error). */
export const DUPLICATE_USERNAME = 'A user with that username already exists.'

// auth.User's fields as DRF's ModelSerializer declares them for the admin API, in its order.
const USERNAME_FIELD = charField({ maxLength: USERNAME_MAX_LENGTH, validators: [validateUsername] })
const PASSWORD_FIELD = charField({ maxLength: PASSWORD_MAX_LENGTH })
const FLAG_FIELD = booleanField({ required: false })

/** What an update may change: the names, the email and the flags, each optional; names and email may be blank. */
export const USER_UPDATE_FIELDS: Fields = {
  first_name: charField({ required: false, allowBlank: true, maxLength: NAME_MAX_LENGTH }),
  last_name: charField({ required: false, allowBlank: true, maxLength: NAME_MAX_LENGTH }),
  email: charField({ required: false, allowBlank: true, maxLength: EMAIL_MAX_LENGTH, validators: [validateEmail] }),
  is_active: FLAG_FIELD,
  is_staff: FLAG_FIELD,
  is_superuser: FLAG_FIELD
}
/** A new user: a username and a password, then what an update may set. */
export const USER_CREATE_FIELDS: Fields = { username: USERNAME_FIELD, password: PASSWORD_FIELD, ...USER_UPDATE_FIELDS }
/** A new password. */
export const SET_PASSWORD_FIELDS: Fields = { password: PASSWORD_FIELD }
