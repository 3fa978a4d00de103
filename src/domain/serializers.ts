// The token views' rules that need no HTTP: simplejwt's TokenObtainSerializer.validate (the credentials
// check) and the 401s every token view shares; mirrors rest_framework_simplejwt/serializers.py.
import { AuthenticationFailed, InvalidToken, TokenError, TOKEN_MESSAGES } from './errors.js'
import { hashPassword, needsRehash, verifyDummyPassword, verifyPassword, type PasswordLog } from './passwords.js'
import type { LoginQueue } from './login-queue.js'
import type { LoginAttempts, UserStore } from './ports.js'
import type { UserRecord } from './users.js'

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

/**
 * TokenObtainSerializer.validate: the active user these credentials name, or simplejwt's 401.
 * Throttled first (spec D10: no hash is even tried then), then a place in the login queue (429 or
 * 503 at once when this client or everyone has too many checks waiting); unknown, inactive and
 * wrong-password logins cost the same hash and get the same answer; a successful login rehashes a
 * legacy hash.
 */
export async function authenticateCredentials (
  { users, loginThrottle, loginQueue }: { users: CredentialUsers, loginThrottle: LoginAttempts, loginQueue: LoginQueue },
  credentials: { username: string, password: string, ip: string, log: PasswordLog & { child: (bindings: Record<string, unknown>) => PasswordLog } }
): Promise<UserRecord> {
  const { username, password, ip, log } = credentials
  await loginThrottle.check(username, ip)
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
      await users.rehashPassword(user.id, user.password, await hashPassword(password))
    }
  } finally {
    leave()
  }
  if (user === undefined || !matches || !user.isActive) {
    await loginThrottle.failed(username, ip)
    throw new AuthenticationFailed('No active account found with the given credentials')
  }
  await loginThrottle.succeeded(username)
  return user
}
