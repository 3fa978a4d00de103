// Users from a Django deployment: reads `manage.py dumpdata auth.user`; mirrors django.core.serializers.json (the loaddata side)
import { MAX_USER_ID as MAX_ID, normalizeUsername, USERNAME_MAX_LENGTH, type NewUserRecord } from './users.js'
import { parseHash } from './hashers.js'
import { hardenHash } from './passwords.js'
import { pythonLength } from './drf-fields.js'

/** One auth.user record, ready to insert: Django's primary key is kept, so old tokens still name the same person. */
export type DjangoUser = NewUserRecord & { id: number }

/** What to do with a user whose id and username are already in the table. */
export type OnConflict = 'skip' | 'update'

/** A file that is not a dumpdata of auth.user, or one of its records is malformed; nothing is imported. */
export class DumpdataError extends Error {
  constructor (message: string, readonly index?: number) {
    super(index === undefined ? message : `record ${index}: ${message}`)
    this.name = 'DumpdataError'
  }
}

/** A record that clashes with a user already in the table; thrown inside the import transaction, so nothing is imported. */
export class ImportConflict extends DumpdataError {
  constructor (index: number, reason: string) {
    super(reason, index)
    this.name = 'ImportConflict'
  }
}

const describe = (value: unknown) => JSON.stringify(value)?.slice(0, 60) ?? String(value)

// Django's DjangoJSONEncoder writes `2026-11-29T22:07:36.159Z` (USE_TZ) or a naive `…T22:07:36.159`.
const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?$/

function datetime (value: unknown, field: string, index: number): Date {
  if (typeof value !== 'string' || !ISO_DATETIME.test(value)) throw new DumpdataError(`fields.${field} must be an ISO 8601 date and time (got ${describe(value)})`, index)
  // A naive value (USE_TZ = False) is taken as UTC: the dump does not say which zone it meant.
  const zoned = /(?:Z|[+-]\d{2}:?\d{2})$/.test(value) ? value : `${value}Z`
  // JavaScript's Date reads milliseconds and `+hh:mm` only; Python may write microseconds.
  const parsed = new Date(zoned.replace(' ', 'T').replace(/\.(\d{3})\d+/, '.$1').replace(/([+-]\d{2})(\d{2})$/, '$1:$2'))
  if (Number.isNaN(parsed.getTime())) throw new DumpdataError(`fields.${field} is not a valid date and time (got ${describe(value)})`, index)
  return parsed
}

function text (fields: Record<string, unknown>, field: string, index: number, maxLength: number, required: boolean): string {
  const value = fields[field]
  if (value === undefined && !required) return ''
  if (typeof value !== 'string') throw new DumpdataError(`fields.${field} must be a string (got ${describe(value)})`, index)
  if (pythonLength(value) > maxLength) throw new DumpdataError(`fields.${field} is longer than ${maxLength} characters`, index)
  // PostgreSQL text cannot hold NUL.
  if (value.includes('\u0000')) throw new DumpdataError(`fields.${field} contains a NUL character`, index)
  return value
}

function flag (fields: Record<string, unknown>, field: string, index: number, fallback: boolean): boolean {
  const value = fields[field]
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new DumpdataError(`fields.${field} must be true or false (got ${describe(value)})`, index)
  return value
}

/** Whether a user's many-to-many field (groups, user_permissions) names anything; ids or natural keys, it is not read. */
function related (fields: Record<string, unknown>, field: string, index: number): boolean {
  const value = fields[field]
  if (value === undefined) return false
  if (!Array.isArray(value)) throw new DumpdataError(`fields.${field} must be a list (got ${describe(value)})`, index)
  return value.length > 0
}

/** One auth.user record of the dump, checked; fields Django's loaddata would default are defaulted the same way. */
function userRecord (record: Record<string, unknown>, index: number, now: Date): DjangoUser & { given: string, groups: boolean, permissions: boolean } {
  const { pk, fields } = record
  if (pk === undefined || pk === null) throw new DumpdataError('has no pk: dump without --natural-primary, so that user ids (and tokens) survive', index)
  if (typeof pk !== 'number' || !Number.isSafeInteger(pk) || pk < 1 || pk > MAX_ID) throw new DumpdataError(`pk must be an integer from 1 to ${MAX_ID} (got ${describe(pk)})`, index)
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) throw new DumpdataError('fields must be an object', index)
  const f = fields as Record<string, unknown>
  const given = text(f, 'username', index, USERNAME_MAX_LENGTH, true)
  if (given.trim() === '') throw new DumpdataError('fields.username may not be blank', index)
  // Django stores names NFKC-normalised (create_user, its forms), but a name saved another way may not be.
  const username = normalizeUsername(given)
  if (pythonLength(username) > USERNAME_MAX_LENGTH) throw new DumpdataError(`fields.username is longer than ${USERNAME_MAX_LENGTH} characters once NFKC-normalised`, index)
  const password = text(f, 'password', index, 4096, true)
  return {
    given,
    groups: related(f, 'groups', index),
    permissions: related(f, 'user_permissions', index),
    id: pk,
    username,
    password,
    firstName: text(f, 'first_name', index, 150, false),
    lastName: text(f, 'last_name', index, 150, false),
    email: text(f, 'email', index, 254, false),
    isSuperuser: flag(f, 'is_superuser', index, false),
    isStaff: flag(f, 'is_staff', index, false),
    isActive: flag(f, 'is_active', index, true),
    lastLogin: f.last_login === undefined || f.last_login === null ? null : datetime(f.last_login, 'last_login', index),
    dateJoined: f.date_joined === undefined ? now : datetime(f.date_joined, 'date_joined', index)
  }
}

/** The records of a dumpdata file: the JSON array that `manage.py dumpdata` writes. */
function dumpRecords (json: string): unknown[] {
  let records: unknown
  try {
    records = JSON.parse(json)
  } catch (err) {
    throw new DumpdataError(`not valid JSON (${(err as Error).message})`)
  }
  if (!Array.isArray(records)) throw new DumpdataError('expected the JSON array that manage.py dumpdata writes')
  return records
}

/** A user whose name in the dump was not in NFKC form, and the name it is imported under. */
export interface RenamedUser { id: number, from: string, to: string }

/**
 * The other models `manage.py dumpdata auth` writes (and `dumpdata auth contenttypes`): this service
 * keeps no groups or permissions (is_staff and is_superuser are imported), so their records are skipped.
 */
const IGNORED_MODELS = new Set(['auth.permission', 'auth.group', 'contenttypes.contenttype'])

/** What a dump held that is not imported: other models' records by model, and users' memberships. */
export interface IgnoredRecords {
  /** Records of auth.permission, auth.group, contenttypes.contenttype, by model, in the order first seen. */
  models: Record<string, number>
  /** Users whose groups, and users whose user_permissions, were not empty. */
  usersWithGroups: number
  usersWithPermissions: number
}

/** The one-line note about what readDumpdata ignored, or undefined when it ignored nothing. */
export function ignoredNote ({ models, usersWithGroups, usersWithPermissions }: IgnoredRecords): string | undefined {
  const parts = Object.entries(models).map(([model, count]) => `${count} ${model}`)
  if (usersWithGroups > 0) parts.push(`the groups of ${usersWithGroups} ${usersWithGroups === 1 ? 'user' : 'users'}`)
  if (usersWithPermissions > 0) parts.push(`the permissions of ${usersWithPermissions} ${usersWithPermissions === 1 ? 'user' : 'users'}`)
  if (parts.length === 0) return undefined
  const list = parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1) ?? ''}`
  return `Note: ignored ${list}: only users are imported (is_staff and is_superuser with them); groups and permissions have no meaning here.`
}

/**
 * Parses the JSON that `manage.py dumpdata auth.user` writes (any indentation) into users to insert,
 * each username NFKC-normalised (those it changed are listed in `renamed`). Throws DumpdataError
 * naming the first malformed record by its index in the array, and the reason; a pk or username that
 * appears twice is malformed too, and so are two names that normalise to the same one (look-alikes).
 * `dumpdata auth` is read too: its auth.permission and auth.group records (and contenttypes'), and
 * the users' groups and user_permissions, are skipped and counted in `ignored` (ignoredNote says so
 * in one line); a record of any other model is refused, naming it (the wrong file).
 */
export function readDumpdata (json: string, now = new Date()): { users: DjangoUser[], renamed: RenamedUser[], ignored: IgnoredRecords } {
  const records = dumpRecords(json)
  const ids = new Map<number, number>()
  const usernames = new Map<string, { index: number, given: string }>()
  const renamed: RenamedUser[] = []
  const ignored: IgnoredRecords = { models: {}, usersWithGroups: 0, usersWithPermissions: 0 }
  const users: DjangoUser[] = []
  for (const [index, record] of records.entries()) {
    if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new DumpdataError('must be an object with model, pk and fields', index)
    const { model } = record as Record<string, unknown>
    if (typeof model === 'string' && IGNORED_MODELS.has(model)) {
      ignored.models[model] = (ignored.models[model] ?? 0) + 1
      continue
    }
    if (model !== 'auth.user') {
      throw new DumpdataError(`model ${describe(model)} is not auth.user: dump the users with \`manage.py dumpdata auth.user\` (or \`dumpdata auth\`, whose groups and permissions are ignored)`, index)
    }
    const { given, groups, permissions, ...user } = userRecord(record as Record<string, unknown>, index, now)
    const sameId = ids.get(user.id)
    if (sameId !== undefined) throw new DumpdataError(`pk ${user.id} already appears in record ${sameId}`, index)
    const sameName = usernames.get(user.username)
    if (sameName !== undefined) {
      throw new DumpdataError(sameName.given === given
        ? `username ${describe(given)} already appears in record ${sameName.index}`
        : `username ${describe(given)} is ${describe(user.username)} once NFKC-normalised (as Django's normalize_username does), the same as ${describe(sameName.given)} in record ${sameName.index}: look-alike accounts cannot both be imported`, index)
    }
    ids.set(user.id, index)
    usernames.set(user.username, { index, given })
    if (given !== user.username) renamed.push({ id: user.id, from: given, to: user.username })
    if (groups) ignored.usersWithGroups++
    if (permissions) ignored.usersWithPermissions++
    users.push(user)
  }
  return { users, renamed, ignored }
}

/** The users of a dump (readDumpdata without the list of renamed ones). */
export function parseDumpdata (json: string, now = new Date()): DjangoUser[] {
  return readDumpdata(json, now).users
}

/** How many users of each hash kind, and those whose hash can never match (with the reason). */
export interface HashBreakdown {
  counts: Map<string, number>
  neverMatch: Array<{ id: number, username: string, reason: string }>
}

/** Counts the users by password hasher (`unusable` for `!…`, `unknown`, or the hasher's name). */
export function hashBreakdown (users: DjangoUser[]): HashBreakdown {
  const counts = new Map<string, number>()
  const neverMatch: HashBreakdown['neverMatch'] = []
  for (const user of users) {
    const parsed = parseHash(user.password)
    const kind = parsed.usable ? parsed.algorithm : parsed.problem === 'unusable' ? 'unusable' : parsed.algorithm ?? 'unknown'
    counts.set(kind, (counts.get(kind) ?? 0) + 1)
    if (!parsed.usable && parsed.problem !== 'unusable') neverMatch.push({ id: user.id, username: user.username, reason: parsed.detail })
  }
  return { counts, neverMatch }
}

/**
 * Replaces every weak legacy hash (sha1, md5, unsalted_*) with its argon2id wrapper (hardenHash),
 * a few at a time so that libuv's thread pool stays busy without queueing thousands of hashes.
 * Returns how many were wrapped, by legacy hasher.
 */
export async function hardenUsers (users: DjangoUser[], concurrency = 4): Promise<Map<string, number>> {
  const wrapped = new Map<string, number>()
  let next = 0
  async function worker (): Promise<void> {
    while (next < users.length) {
      const user = users[next++]
      const hardened = await hardenHash(user.password)
      if (hardened === undefined) continue
      const parsed = parseHash(user.password)
      const kind = parsed.usable ? parsed.algorithm : 'unknown'
      wrapped.set(kind, (wrapped.get(kind) ?? 0) + 1)
      user.password = hardened
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return wrapped
}

/** One token simplejwt's token_blacklist app refuses: its jti, when it was blacklisted, and when it expires. */
export interface DjangoBlacklistedToken { jti: string, blacklistedAt: Date, expiresAt: Date }

/**
 * Parses `manage.py dumpdata token_blacklist` (OutstandingToken and BlacklistedToken records) into the
 * tokens that are blacklisted. Outstanding tokens that were never blacklisted are not needed: tokens
 * from Django are accepted here anyway, and log out everywhere refuses them by the user's cut-off.
 * Throws DumpdataError naming the first malformed record by its index.
 */
export function parseBlacklistDump (json: string): DjangoBlacklistedToken[] {
  return readBlacklistDump(json).tokens
}

/**
 * parseBlacklistDump, and the largest user id the dump's outstanding tokens name (0 when none does):
 * a user Django deleted may have held it, and no user created here may take it (docs/security.md).
 */
export function readBlacklistDump (json: string): { tokens: DjangoBlacklistedToken[], largestUserId: number } {
  const records = dumpRecords(json)
  let largestUserId = 0
  const outstanding = new Map<number, { jti: string, expiresAt: Date }>()
  const jtis = new Set<string>()
  const blacklisted: Array<{ token: number, blacklistedAt: Date, index: number }> = []
  for (const [index, record] of records.entries()) {
    if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new DumpdataError('must be an object with model, pk and fields', index)
    const { model, pk, fields } = record as Record<string, unknown>
    if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) throw new DumpdataError('fields must be an object', index)
    const f = fields as Record<string, unknown>
    if (model === 'token_blacklist.outstandingtoken') {
      if (typeof pk !== 'number' || !Number.isSafeInteger(pk) || pk < 1) throw new DumpdataError(`pk must be a positive integer (got ${describe(pk)})`, index)
      if (outstanding.has(pk)) throw new DumpdataError(`pk ${pk} appears twice`, index)
      const jti = text(f, 'jti', index, 255, true)
      if (jti === '') throw new DumpdataError('fields.jti may not be blank', index)
      if (jtis.has(jti)) throw new DumpdataError(`jti ${describe(jti)} appears twice`, index)
      jtis.add(jti)
      // OutstandingToken.user: the user's pk, or null once Django deleted the user (on_delete=SET_NULL).
      const user = f.user
      if (user !== undefined && user !== null && (typeof user !== 'number' || !Number.isSafeInteger(user) || user < 1 || user > MAX_ID)) {
        throw new DumpdataError(`fields.user must be a user's pk or null (got ${describe(user)})`, index)
      }
      if (typeof user === 'number') largestUserId = Math.max(largestUserId, user)
      outstanding.set(pk, { jti, expiresAt: datetime(f.expires_at, 'expires_at', index) })
    } else if (model === 'token_blacklist.blacklistedtoken') {
      const token = f.token
      if (typeof token !== 'number' || !Number.isSafeInteger(token)) throw new DumpdataError(`fields.token must be the pk of an outstanding token (got ${describe(token)})`, index)
      blacklisted.push({ token, blacklistedAt: datetime(f.blacklisted_at, 'blacklisted_at', index), index })
    } else {
      throw new DumpdataError(`model must be "token_blacklist.outstandingtoken" or "token_blacklist.blacklistedtoken" (got ${describe(model)})`, index)
    }
  }
  const tokens = blacklisted.map(({ token, blacklistedAt, index }) => {
    const row = outstanding.get(token)
    if (row === undefined) throw new DumpdataError(`fields.token ${token} names no outstanding token of the dump (dump the whole token_blacklist app)`, index)
    return { jti: row.jti, blacklistedAt, expiresAt: row.expiresAt }
  })
  return { tokens, largestUserId }
}
