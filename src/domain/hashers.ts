// Django's password hashers, the checking side; mirrors django.contrib.auth.hashers (identify_hasher, *PasswordHasher.verify)
import { createHash, pbkdf2, scrypt, timingSafeEqual } from 'node:crypto'
import { verify as argon2Verify } from '@node-rs/argon2'
import { verify as bcryptVerify } from '@node-rs/bcrypt'

/**
 * The most work a stored hash may ask for. A hash over any cap never matches: an imported table is
 * data from elsewhere, and one hostile row (a billion PBKDF2 iterations, 64 GiB of argon2 memory)
 * must not be able to stall the thread pool or exhaust memory at each login attempt. Each cap is
 * several times Django's current default, so that real hashes pass.
 */
export const HASHER_CAPS = {
  /** PBKDF2 iterations (Django 3.2: 260,000; 5.2: 1,000,000; 6.0: 1,200,000). */
  pbkdf2Iterations: 3_000_000,
  /** argon2 memory in KiB (Django: 102,400 = 100 MiB). */
  argon2MemoryKiB: 262_144,
  /** argon2 passes (Django: 2). */
  argon2Passes: 16,
  /** argon2 lanes (Django: 8). */
  argon2Lanes: 16,
  /** bcrypt cost, log2 of the rounds (Django: 12; each step doubles the work). */
  bcryptCost: 14,
  /** scrypt memory, 128·N·r bytes (Django: N = 2^14, r = 8, 16 MiB). */
  scryptMemoryBytes: 128 * 1024 * 1024,
  /** scrypt parallelism p (Django: 1). */
  scryptParallelism: 16
} as const

/** Every hasher this service verifies: Django's names, plus the two --harden wrappers (argon2_sha1, argon2_md5). */
export const ALGORITHMS = [
  'argon2', 'pbkdf2_sha256', 'pbkdf2_sha1', 'bcrypt_sha256', 'bcrypt', 'scrypt',
  'sha1', 'md5', 'unsalted_sha1', 'unsalted_md5', 'argon2_sha1', 'argon2_md5'
] as const
export type Algorithm = typeof ALGORITHMS[number]

/** The cheap legacy digests that --harden wraps in argon2id. */
export type LegacyDigest = 'sha1' | 'md5'

/** A hash this service can check a password against. */
export interface UsableHash {
  usable: true
  algorithm: Algorithm
  /** True when `password` matches; off the event-loop thread wherever the work is more than a digest. */
  verify: (password: string) => Promise<boolean>
  /** For sha1, md5 and their unsalted forms: the parts a wrapper needs (the digest is of salt + password). */
  legacy?: { digest: LegacyDigest, salt: string, hex: string }
}

/** Why a stored hash can never match: unusable (`!…`, on purpose), or unknown, malformed or over the caps. */
export interface UnusableHash {
  usable: false
  /** The hasher the encoding names, when it names one this service knows. */
  algorithm?: Algorithm
  problem: 'unusable' | 'unknown' | 'malformed' | 'over_caps'
  /** One line for logs and the import report; never contains the hash. */
  detail: string
}

/** What parseHash makes of a stored hash. */
export type ParsedHash = UsableHash | UnusableHash

const unusable = (problem: UnusableHash['problem'], detail: string, algorithm?: Algorithm): UnusableHash =>
  ({ usable: false, problem, detail, algorithm })

/** Constant-time equality of two ASCII encodings (lengths are not secret: every hash of a kind has the same). */
function sameText (a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

function hexDigest (digest: LegacyDigest | 'sha256', text: string): string {
  return createHash(digest).update(text, 'utf8').digest('hex')
}

function pbkdf2Base64 (password: string, salt: string, iterations: number, digest: 'sha256' | 'sha1'): Promise<string> {
  // The callback form runs on libuv's thread pool; pbkdf2Sync would block every other request.
  return new Promise((resolve, reject) => {
    pbkdf2(password, salt, iterations, digest === 'sha256' ? 32 : 20, digest, (err, key) => err === null ? resolve(key.toString('base64')) : reject(err))
  })
}

function scryptBase64 (password: string, salt: string, N: number, r: number, p: number): Promise<string> {
  return new Promise((resolve, reject) => {
    // Node refuses to use more than maxmem; allow what the hash needs (already checked against the cap).
    scrypt(password, salt, 64, { N, r, p, maxmem: 2 * 128 * N * r + 1024 * 1024 }, (err, key) => err === null ? resolve(key.toString('base64')) : reject(err))
  })
}

const DECIMAL = /^[1-9]\d{0,9}$/
const B64_UNPADDED = /^[A-Za-z0-9+/]+$/

/**
 * An argon2 PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`, or Django 1.10's version-less argon2i
 * form), checked against the caps. argon2d is accepted too, as argon2-cffi (Django's backend) accepts it.
 */
function parseArgon2Phc (phc: string, algorithm: Algorithm): { ok: true } | UnusableHash {
  const parts = phc.split('$')
  if (parts[0] !== '' || !['argon2id', 'argon2i', 'argon2d'].includes(parts[1])) return unusable('malformed', `${algorithm}: not an argon2id, argon2i or argon2d hash`, algorithm)
  const rest = parts.slice(2)
  if (rest.length === 4) {
    if (rest[0] !== 'v=19' && rest[0] !== 'v=16') return unusable('malformed', `${algorithm}: unknown argon2 version`, algorithm)
    rest.shift()
  }
  const params = rest.length === 3 ? /^m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,10})$/.exec(rest[0]) : null
  if (params === null || !B64_UNPADDED.test(rest[1]) || !B64_UNPADDED.test(rest[2])) return unusable('malformed', `${algorithm}: malformed argon2 parameters, salt or hash`, algorithm)
  const [m, t, p] = params.slice(1).map(Number)
  if (m > HASHER_CAPS.argon2MemoryKiB || t > HASHER_CAPS.argon2Passes || p > HASHER_CAPS.argon2Lanes) {
    return unusable('over_caps', `${algorithm}: argon2 m=${m},t=${t},p=${p} is over the caps (m ≤ ${HASHER_CAPS.argon2MemoryKiB}, t ≤ ${HASHER_CAPS.argon2Passes}, p ≤ ${HASHER_CAPS.argon2Lanes})`, algorithm)
  }
  return { ok: true }
}

async function argon2Matches (phc: string, password: string): Promise<boolean> {
  try {
    // @node-rs/argon2 verifies on libuv's thread pool and compares in constant time.
    return await argon2Verify(phc, password)
  } catch {
    // Parameters the library refuses (m below 8·p, a hash too short) never match.
    return false
  }
}

/** `pbkdf2_sha256$iterations$salt$base64`: PBKDF2PasswordHasher, PBKDF2SHA1PasswordHasher. */
function parsePbkdf2 (encoded: string, algorithm: 'pbkdf2_sha256' | 'pbkdf2_sha1'): ParsedHash {
  const parts = encoded.split('$')
  if (parts.length !== 4 || !DECIMAL.test(parts[1]) || parts[2] === '' || !/^[A-Za-z0-9+/]+=*$/.test(parts[3])) {
    return unusable('malformed', `${algorithm}: expected ${algorithm}$iterations$salt$hash`, algorithm)
  }
  const iterations = Number(parts[1])
  if (iterations > HASHER_CAPS.pbkdf2Iterations) {
    return unusable('over_caps', `${algorithm}: ${iterations} iterations is over the cap of ${HASHER_CAPS.pbkdf2Iterations}`, algorithm)
  }
  const [, , salt, stored] = parts
  const digest = algorithm === 'pbkdf2_sha256' ? 'sha256' : 'sha1'
  return {
    usable: true,
    algorithm,
    // Django compares the base64 text, so a hash encoded any other way never matches there either.
    verify: async password => sameText(await pbkdf2Base64(password, salt, iterations, digest), stored)
  }
}

/** `bcrypt_sha256$$2b$12$…` (the password's SHA-256 hex digest goes into bcrypt) and `bcrypt$$2b$12$…`. */
function parseBcrypt (encoded: string, algorithm: 'bcrypt_sha256' | 'bcrypt'): ParsedHash {
  const data = encoded.slice(algorithm.length + 1)
  const match = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/.exec(data)
  if (match === null || Number(match[1]) < 4) return unusable('malformed', `${algorithm}: expected ${algorithm}$$2b$cost$salt+hash`, algorithm)
  const cost = Number(match[1])
  if (cost > HASHER_CAPS.bcryptCost) return unusable('over_caps', `${algorithm}: cost ${cost} is over the cap of ${HASHER_CAPS.bcryptCost}`, algorithm)
  return {
    usable: true,
    algorithm,
    verify: async password => {
      // bcrypt reads 72 bytes at most, as Python's bcrypt did when Django made these hashes; the
      // SHA-256 pre-hash is what lets bcrypt_sha256 see all of a long password.
      const input = algorithm === 'bcrypt_sha256' ? hexDigest('sha256', password) : password
      try {
        // @node-rs/bcrypt runs on libuv's thread pool and compares in constant time.
        return await bcryptVerify(input, data)
      } catch {
        return false
      }
    }
  }
}

/** `scrypt$N$salt$r$p$base64` (Django ≥ 4.0 ScryptPasswordHasher; a 64-byte key). */
function parseScrypt (encoded: string): ParsedHash {
  const parts = encoded.split('$')
  if (parts.length !== 6 || !DECIMAL.test(parts[1]) || parts[2] === '' || !DECIMAL.test(parts[3]) || !DECIMAL.test(parts[4]) || !/^[A-Za-z0-9+/]+=*$/.test(parts[5])) {
    return unusable('malformed', 'scrypt: expected scrypt$N$salt$r$p$hash', 'scrypt')
  }
  const [N, r, p] = [parts[1], parts[3], parts[4]].map(Number)
  // N must be a power of two above 1 (as OpenSSL requires).
  if (N < 2 || (N & (N - 1)) !== 0) return unusable('malformed', 'scrypt: N must be a power of two', 'scrypt')
  if (128 * N * r > HASHER_CAPS.scryptMemoryBytes || p > HASHER_CAPS.scryptParallelism) {
    return unusable('over_caps', `scrypt: N=${N},r=${r},p=${p} is over the caps (128·N·r ≤ ${HASHER_CAPS.scryptMemoryBytes} bytes, p ≤ ${HASHER_CAPS.scryptParallelism})`, 'scrypt')
  }
  const salt = parts[2]
  const stored = parts[5]
  return {
    usable: true,
    algorithm: 'scrypt',
    verify: async password => {
      try {
        return sameText(await scryptBase64(password, salt, N, r, p), stored)
      } catch {
        return false
      }
    }
  }
}

/** `sha1$salt$hex`, `md5$salt$hex`, and with an empty salt the unsalted forms. */
function legacy (algorithm: Algorithm, digest: LegacyDigest, salt: string, hex: string): ParsedHash {
  const length = digest === 'sha1' ? 40 : 32
  // Django compares lowercase hex text: anything else never matches there either.
  if (!new RegExp(`^[0-9a-f]{${length}}$`).test(hex)) return unusable('malformed', `${algorithm}: expected ${length} lowercase hex digits`, algorithm)
  return {
    usable: true,
    algorithm,
    // A single digest: microseconds, so it is computed in place rather than queued on the pool.
    verify: async password => sameText(hexDigest(digest, salt + password), hex),
    legacy: { digest, salt, hex }
  }
}

/** `argon2_sha1$salt$argon2id$…`: ours (--harden), the argon2id of a legacy hex digest. */
function parseWrapped (encoded: string, algorithm: 'argon2_sha1' | 'argon2_md5'): ParsedHash {
  const digest: LegacyDigest = algorithm === 'argon2_sha1' ? 'sha1' : 'md5'
  const saltEnd = encoded.indexOf('$', algorithm.length + 1)
  if (saltEnd < 0) return unusable('malformed', `${algorithm}: expected ${algorithm}$salt$argon2id$…`, algorithm)
  const salt = encoded.slice(algorithm.length + 1, saltEnd)
  const phc = encoded.slice(saltEnd)
  const checked = parseArgon2Phc(phc, algorithm)
  if (!('ok' in checked)) return checked
  return {
    usable: true,
    algorithm,
    // Both layers: the legacy digest of what was typed, then argon2id over that digest.
    verify: password => argon2Matches(phc, hexDigest(digest, salt + password))
  }
}

/**
 * Names the hasher of a stored hash, as Django's identify_hasher does (including its special cases
 * for bare 32-digit MD5, `md5$$…` and `sha1$$…`), and reads its parameters, checked against
 * HASHER_CAPS. Never throws: an unusable, unknown, malformed or over-the-caps hash is described
 * instead, and can never match.
 */
export function parseHash (encoded: string): ParsedHash {
  if (encoded.startsWith('!')) return unusable('unusable', 'an unusable password (Django\'s set_unusable_password)')
  if ((encoded.length === 32 && !encoded.includes('$')) || (encoded.length === 37 && encoded.startsWith('md5$$'))) {
    return legacy('unsalted_md5', 'md5', '', encoded.slice(-32))
  }
  if (encoded.length === 46 && encoded.startsWith('sha1$$')) return legacy('unsalted_sha1', 'sha1', '', encoded.slice(6))
  const name = encoded.slice(0, Math.max(encoded.indexOf('$'), 0))
  switch (name) {
    case 'argon2': {
      const checked = parseArgon2Phc(encoded.slice('argon2'.length), 'argon2')
      if (!('ok' in checked)) return checked
      return { usable: true, algorithm: 'argon2', verify: password => argon2Matches(encoded.slice('argon2'.length), password) }
    }
    case 'pbkdf2_sha256':
    case 'pbkdf2_sha1':
      return parsePbkdf2(encoded, name)
    case 'bcrypt_sha256':
    case 'bcrypt':
      return parseBcrypt(encoded, name)
    case 'scrypt':
      return parseScrypt(encoded)
    case 'sha1':
    case 'md5': {
      const parts = encoded.split('$')
      // An empty salt here is not the unsalted form (that has its own length): Django refuses it too.
      if (parts.length !== 3 || parts[1] === '') return unusable('malformed', `${name}: expected ${name}$salt$hex`, name)
      return legacy(name, name, parts[1], parts[2])
    }
    case 'argon2_sha1':
    case 'argon2_md5':
      return parseWrapped(encoded, name)
    default:
      // crypt (Django's CryptPasswordHasher, gone since Django 5.0) and custom hashers end here.
      return unusable('unknown', name === '' ? 'not a Django password hash' : `unknown hasher ${JSON.stringify(name.slice(0, 32))}`)
  }
}
