// What every token view shares; mirrors rest_framework_simplejwt/views.py (TokenViewBase) and TokenObtainSerializer
import type { FastifyBaseLogger, FastifyRequest, RouteOptions } from 'fastify'
import { AuthenticationFailed, InvalidToken, TokenError, TOKEN_MESSAGES, ValidationError } from './domain/errors.js'
import { cleanCharFields, type SerializerSchema } from './domain/drf-fields.js'
import { hashPassword, needsRehash, verifyDummyPassword, verifyPassword } from './domain/passwords.js'
import type { User } from './db/schema.js'
import { rawBody } from '../plugins/http.js'
import type { LoginThrottle } from './db/login-attempts.js'
import type { LoginQueue } from './domain/login-queue.js'
import type { UsersRepository } from './db/users.js'

/**
 * An onRoute hook giving each route with a body a preValidation hook that runs the view's
 * serializer on the body before the schema sees it, as DRF does: numbers become strings, values are
 * stripped, and every bad field is reported in DRF's words (src/domain/drf-fields.ts). Handlers then receive
 * clean, stripped strings. The route's schema is looked up once here, not on every request.
 */
export function withSerializer (route: RouteOptions): void {
  const schema = route.schema?.body as SerializerSchema | undefined
  if (schema === undefined) return
  const serializer = async function serializer (request: FastifyRequest): Promise<void> {
    const result = cleanCharFields(rawBody(request), schema)
    if (!result.ok) throw new ValidationError(result.errors)
    request.body = result.data
  }
  route.preValidation = [serializer, ...[route.preValidation ?? []].flat()]
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
  { users, loginThrottle, loginQueue }: { users: UsersRepository, loginThrottle: LoginThrottle, loginQueue: LoginQueue },
  credentials: { username: string, password: string, ip: string, log: FastifyBaseLogger }
): Promise<User> {
  const { username, password, ip, log } = credentials
  await loginThrottle.check(username, ip)
  const leave = loginQueue.enter(ip)
  let user: User | undefined
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
