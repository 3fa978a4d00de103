// Password hashing in Django's format; mirrors django.contrib.auth.hashers (Argon2PasswordHasher)
import { randomBytes } from 'node:crypto'
import { hash, verify } from '@node-rs/argon2'

/** OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane. */
export const ARGON2_PARAMS = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const
const DJANGO_PREFIX = 'argon2'

/** A string that no password ever matches, as Django stores for unusable passwords. */
export const UNUSABLE_PASSWORD_PREFIX = '!'

/**
 * Hashes a password with argon2id on libuv's thread pool (never on the event-loop thread) and
 * returns Django's encoding, `argon2$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`.
 */
export async function hashPassword (password: string): Promise<string> {
  return DJANGO_PREFIX + await hash(password, ARGON2_PARAMS)
}

/**
 * True when `password` matches a stored Django-format hash. Unknown formats and unusable
 * passwords never match. Runs off the event-loop thread; the comparison is constant-time.
 */
export async function verifyPassword (encoded: string, password: string): Promise<boolean> {
  if (!encoded.startsWith(`${DJANGO_PREFIX}$argon2`)) return false
  try {
    return await verify(encoded.slice(DJANGO_PREFIX.length), password)
  } catch {
    return false
  }
}

let dummy: Promise<string> | undefined

/**
 * Spends the same time as checking a real user's password, so that an unknown or inactive
 * username cannot be told apart from a wrong password by timing. Always false.
 */
export async function verifyDummyPassword (password: string): Promise<false> {
  dummy ??= hashPassword(randomBytes(16).toString('hex'))
  await verifyPassword(await dummy, password)
  return false
}
