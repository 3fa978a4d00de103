// Password hashing and checking in Django's formats; mirrors django.contrib.auth.hashers (make_password, check_password)
import { randomBytes } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { hash } from '@node-rs/argon2'
import { parseHash } from './hashers.js'

/** OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane. */
export const ARGON2_PARAMS = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const
const DJANGO_PREFIX = 'argon2'

/** What every hash made now starts with; any other stored hash is replaced at the next login. */
const CURRENT_PREFIX = `${DJANGO_PREFIX}$argon2id$v=19$m=${ARGON2_PARAMS.memoryCost},t=${ARGON2_PARAMS.timeCost},p=${ARGON2_PARAMS.parallelism}$`

/**
 * How many password hashes run at once: all cores but one, so that a burst of logins can never
 * take the core that serves every other request (hello's latency while logins run). The rest wait
 * their turn, first come first served.
 */
export const HASH_CONCURRENCY = Math.max(1, availableParallelism() - 1)

let running = 0
let done = 0
const waiting: Array<() => void> = []

/** The hashing queue's gauges: hashes running and waiting now (its length, for operators' metrics and the flood tests). */
export function hashLoad (): { running: number, waiting: number } {
  return { running, waiting: waiting.length }
}

/** The hashing queue's counter: hashes (and checks) finished since the process started. */
export function hashesDone (): number {
  return done
}

/** Runs one hash (or check) when a slot is free. */
async function hashing<T> (work: () => Promise<T>): Promise<T> {
  if (running >= HASH_CONCURRENCY) await new Promise<void>(resolve => waiting.push(resolve))
  else running++
  try {
    return await work()
  } finally {
    done++
    // The slot passes straight to the next in line, or is given back.
    const next = waiting.shift()
    if (next !== undefined) next()
    else running--
  }
}

/** A string that no password ever matches, as Django stores for unusable passwords. */
export const UNUSABLE_PASSWORD_PREFIX = '!'

/**
 * Throws a TypeError unless `encoded` is a password hash in Django's format (or an unusable
 * password, `!…`): a store given a plain password would keep it as it is, and never match it.
 */
export function assertEncodedPassword (encoded: string): void {
  const parsed = parseHash(encoded)
  if (!parsed.usable && parsed.problem === 'unknown') {
    throw new TypeError('fastify-simplejwt: users.create stores a password hash in Django\'s format (hashPassword(plain), or a hash from Django), never a plain password; fastify.simplejwt.accounts.create({ username, password }) hashes and validates a plain one')
  }
}

/** Where a hash that can never match is reported (pino's and Fastify's loggers fit). */
export interface PasswordLog {
  warn: (details: Record<string, unknown>, message: string) => void
}

/**
 * Hashes a password with argon2id on libuv's thread pool (never on the event-loop thread) and
 * returns Django's encoding, `argon2$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`.
 */
export async function hashPassword (password: string): Promise<string> {
  return DJANGO_PREFIX + await hashing(() => hash(password, ARGON2_PARAMS))
}

/**
 * True when `password` matches a stored hash in any format Django makes (src/domain/hashers.ts), or our
 * --harden wrappers. Unusable passwords (`!…`) and unknown formats never match; neither does a hash
 * over HASHER_CAPS, which is also logged to `log`. The work runs off the event-loop thread and the
 * comparison is constant-time.
 */
export async function verifyPassword (encoded: string, password: string, log?: PasswordLog): Promise<boolean> {
  const parsed = parseHash(encoded)
  if (parsed.usable) return hashing(() => parsed.verify(password))
  if (parsed.problem !== 'unusable') {
    log?.warn({ event: 'password_hash_unverifiable', problem: parsed.problem, algorithm: parsed.algorithm, reason: parsed.detail },
      'a stored password hash can never match; set a new password for this user')
  }
  // The same work as a real check, so that such an account cannot be told from others by timing.
  return verifyDummyPassword(password)
}

/**
 * True when a stored hash is anything but argon2id with our current parameters, and so should be
 * replaced after the next successful login (Django's must_update / check_password setter).
 */
export function needsRehash (encoded: string): boolean {
  return !encoded.startsWith(CURRENT_PREFIX)
}

/**
 * For a weak legacy hash (sha1, md5, unsalted_sha1, unsalted_md5): the same check wrapped in
 * argon2id, `argon2_sha1$<legacy salt>$argon2id$v=19$…` (or `argon2_md5$…`), the argon2id of the
 * legacy hex digest, so that no weak hash need be stored. Undefined for every other hash.
 */
export async function hardenHash (encoded: string): Promise<string | undefined> {
  const parsed = parseHash(encoded)
  if (!parsed.usable || parsed.legacy === undefined) return undefined
  const { digest, salt, hex } = parsed.legacy
  return `argon2_${digest}$${salt}` + await hashing(() => hash(hex, ARGON2_PARAMS))
}

let dummy: Promise<string> | undefined

/**
 * Spends the same time as checking a real user's password, so that an unknown or inactive
 * username cannot be told apart from a wrong password by timing. Always false.
 */
export async function verifyDummyPassword (password: string): Promise<false> {
  dummy ??= hashPassword(randomBytes(16).toString('hex'))
  const parsed = parseHash(await dummy)
  if (parsed.usable) await hashing(() => parsed.verify(password))
  return false
}
