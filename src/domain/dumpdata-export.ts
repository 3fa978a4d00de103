// Users back to Django: writes what `manage.py dumpdata auth.user --indent 2` writes, for `manage.py loaddata`;
// mirrors django.core.serializers.json (the dumpdata side) and DjangoJSONEncoder
import { parseHash } from './hashers.js'
import type { UserRecord } from './users.js'

/** What the export reads of a user: the auth_user columns (the revocation cut-off is Django-less). */
export type ExportedUser = Omit<UserRecord, 'tokensValidAfter'> & { tokensValidAfter?: Date | null }

/**
 * DjangoJSONEncoder's datetime: ISO 8601, milliseconds (Python's microseconds cut to three digits,
 * and none at all when they are zero), `Z` for UTC: `2026-11-29T22:07:36.159Z`, `2026-11-29T22:07:36Z`.
 */
export function djangoDatetime (date: Date): string {
  const iso = date.toISOString()
  return date.getUTCMilliseconds() === 0 ? iso.replace(/\.000Z$/, 'Z') : iso
}

/**
 * One auth.user record, its fields in auth.User's order (AbstractBaseUser's, PermissionsMixin's,
 * AbstractUser's). Groups and user permissions are left out on purpose: loaddata sets a many-to-many
 * field only when the record names it, so Django keeps each user's groups and permissions, where
 * `"groups": []` would empty them.
 */
export function djangoUserRecord (user: ExportedUser) {
  return {
    model: 'auth.user',
    pk: user.id,
    fields: {
      password: user.password,
      last_login: user.lastLogin === null ? null : djangoDatetime(user.lastLogin),
      is_superuser: user.isSuperuser,
      username: user.username,
      first_name: user.firstName,
      last_name: user.lastName,
      email: user.email,
      is_staff: user.isStaff,
      is_active: user.isActive,
      date_joined: djangoDatetime(user.dateJoined)
    }
  }
}

/**
 * The dump, byte for byte as Django's JSON serializer writes it with --indent 2: `[`, each record on
 * lines of its own (json.dump with indent 2, ensure_ascii off), `,` between them, then `]` and a newline.
 */
export function writeDumpdata (users: ExportedUser[]): string {
  return '[' + users.map(user => '\n' + JSON.stringify(djangoUserRecord(user), null, 2)).join(',') + '\n]\n'
}

/** The hashers this service invented (import-django --harden): Django has no hasher for them. */
export const DJANGO_UNKNOWN_HASHERS: ReadonlySet<string> = new Set(['argon2_sha1', 'argon2_md5'])

/** A user the operator must hear about before handing the dump to Django. */
export interface ExportedUserNote { id: number, username: string, reason: string }

/** What a rollback to Django loses, user by user. */
export interface ExportNotes {
  /** An `argon2_sha1$…`/`argon2_md5$…` hash (--harden): Django refuses every password for it. */
  unknownToDjango: ExportedUserNote[]
  /** Users with a token cut-off here (log out everywhere, a new password, a deactivation): Django has none. */
  tokenCutoffs: number
}

/** The users whose passwords Django cannot check, and how many users hold a token cut-off Django will not know. */
export function exportNotes (users: ExportedUser[]): ExportNotes {
  const unknownToDjango: ExportedUserNote[] = []
  let tokenCutoffs = 0
  for (const user of users) {
    const parsed = parseHash(user.password)
    if (parsed.usable && DJANGO_UNKNOWN_HASHERS.has(parsed.algorithm)) {
      unknownToDjango.push({ id: user.id, username: user.username, reason: `${parsed.algorithm} (import-django --harden) is not a Django hasher` })
    }
    if (user.tokensValidAfter !== undefined && user.tokensValidAfter !== null) tokenCutoffs++
  }
  return { unknownToDjango, tokenCutoffs }
}
