// Every setting, validated once at start; mirrors rest_framework_simplejwt/settings.py
import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { Type, type Static, type TBoolean, type TInteger, type TLiteral, type TOptional, type TSchema, type TString, type TUnion } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { ALGORITHMS, KeyError, loadKeySet, parsePreviousKeys, strongKeysOnly } from './keys.js'
import { PASSWORD_VALIDATOR_NAMES, type PasswordRules, type PasswordValidatorName } from './password-validation.js'

/** A configuration problem, reported as one line naming the variable. */
export class ConfigError extends Error {
  constructor (readonly variable: string, problem: string) {
    super(`${variable}: ${problem}`)
    this.name = 'ConfigError'
  }
}

export { ALGORITHMS, HMAC_KEY_BYTES, type Algorithm } from './keys.js'

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 }
const DURATION = /^(\d{1,9})([smhd]?)$/

/** Seconds in a duration written `300`, `300s`, `5m`, `1h` or `1d`; undefined when malformed. */
export function parseDuration (text: string): number | undefined {
  const match = DURATION.exec(text.trim())
  if (match === null) return undefined
  return Number(match[1]) * DURATION_UNITS[match[2] || 's']
}

/** At most `failures` events (failed logins, refreshes) per `seconds`, per key. */
export const RateLimitSchema = Type.Object({ failures: Type.Integer({ minimum: 1 }), seconds: Type.Integer({ minimum: 1 }) })
export type RateLimit = Static<typeof RateLimitSchema>

/**
 * One setting, once: how the environment spells it (`text`, whose description is the error text:
 * "VARIABLE: must be <description> (got …)"), how that text becomes a value, the value's type (also
 * what the plugin's options accept typed), its default, and its documentation. The environment schema,
 * the settings type, the plugin's option type, `.env.example` and docs/settings.md all derive from the
 * table below (`npm run docs` writes the last two; `docs:check` in CI fails when they drift).
 */
export interface Setting<V extends TSchema = TSchema> {
  text: TSchema
  value: V
  parse: (text: string) => Static<V>
  /** The default, or how it follows from the settings before it. */
  fallback: Static<V> | ((settings: Record<string, unknown>) => Static<V>)
  /** The default as the environment would write it, for the docs ('' when unset). */
  shown: string
  /** What it does, one sentence for the docs and .env.example. */
  doc: string
  /** The djangorestframework-simplejwt setting it mirrors. */
  simplejwt?: string
  /** A heading that groups settings in .env.example and the docs. */
  group: string
  /** A setting of the standalone server only (the host application owns these in library mode). */
  server?: true
  /** Never echoed back in an error message. */
  secret?: true
  /** May instead be read from the file that `<NAME>_FILE` names. */
  file?: true
}

type Extra = Pick<Setting, 'doc' | 'group' | 'simplejwt' | 'server' | 'secret' | 'file'>

const DURATION_TEXT = 'a duration such as 300, 300s, 5m, 1h or 1d'
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
type LogLevel = typeof LOG_LEVELS[number]
const CLAIM_NAME = '^[A-Za-z_][A-Za-z0-9_]{0,63}$'
const HEADER_TYPE = "[!#$%&'*+.^_`|~0-9A-Za-z-]+"

/** Seconds as the docs write them: 300 → 5m. */
function showDuration (seconds: number): string {
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60]] as const) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`
  }
  return seconds === 0 ? '0' : `${seconds}s`
}

const Integer = (minimum: number) => Type.Integer({ minimum })

function duration (fallback: number, extra: Extra & { minimum?: number, expect?: string }): Setting<TInteger> {
  const { minimum = 1, expect = DURATION_TEXT, ...rest } = extra
  return {
    text: Type.String({ pattern: '^\\s*\\d{1,9}[smhd]?\\s*$', description: expect }),
    value: Integer(minimum),
    parse: (text) => parseDuration(text) as number,
    fallback,
    shown: showDuration(fallback),
    ...rest
  }
}

function flag (fallback: boolean | ((settings: Record<string, unknown>) => boolean), shown: string, extra: Extra): Setting<TBoolean> {
  return {
    text: Type.String({ pattern: '^(true|false|1|0)$', description: 'true, false, 1 or 0' }),
    value: Type.Boolean(),
    parse: (text) => text === 'true' || text === '1',
    fallback,
    shown,
    ...extra
  }
}

const RateValue = Type.Union([RateLimitSchema, Type.Null()])
function rate (fallback: RateLimit | null, expect: string, extra: Extra): Setting<typeof RateValue> {
  return {
    text: Type.String({ pattern: '^(off|[1-9]\\d{0,5}/[1-9]\\d{0,8}[smhd]?)$', description: expect }),
    value: RateValue,
    parse: (text) => {
      if (text === 'off') return null
      const [failures, window] = text.split('/')
      return { failures: Number(failures), seconds: parseDuration(window) as number }
    },
    fallback,
    shown: fallback === null ? 'off' : `${fallback.failures}/${showDuration(fallback.seconds)}`,
    ...extra
  }
}

function count (fallback: number, expect: string, extra: Extra): Setting<TInteger> {
  return {
    text: Type.String({ pattern: '^[1-9]\\d{0,6}$', description: expect }),
    value: Integer(1),
    parse: Number,
    fallback,
    shown: String(fallback),
    ...extra
  }
}

function claimName (fallback: string, extra: Extra): Setting<TString> {
  return {
    text: Type.String({ pattern: CLAIM_NAME, description: 'a claim name (letters, digits, underscore)' }),
    value: Type.String({ pattern: CLAIM_NAME }),
    parse: (text) => text,
    fallback,
    shown: fallback,
    ...extra
  }
}

/** A string setting: `fallback` undefined leaves it unset. */
function text<F extends string | undefined> (text: TSchema, fallback: F, extra: Extra): Setting<F extends string ? TString : TOptional<TString>> {
  const value = fallback === undefined ? Type.Optional(Type.String({ minLength: 1 })) : Type.String()
  return { text, value, parse: (value: string) => value, fallback, shown: fallback ?? '', ...extra } as unknown as Setting<F extends string ? TString : TOptional<TString>>
}

function choice<T extends string> (choices: readonly T[], fallback: T, extra: Extra): Setting<TUnion<Array<TLiteral<T>>>> {
  return {
    text: Type.Union(choices.map(c => Type.Literal(c)), { description: `one of ${choices.join(', ')}` }),
    value: Type.Union(choices.map(c => Type.Literal(c))),
    parse: (text) => text as Static<TUnion<Array<TLiteral<T>>>>,
    fallback: fallback as Static<TUnion<Array<TLiteral<T>>>>,
    shown: fallback,
    ...extra
  }
}

const list = (text: string) => text.split(',').map(item => item.trim())

const TOKENS = 'Tokens'
const KEYS = 'Signing and verifying keys'
const CLAIMS = 'Claims and headers'
const ABUSE = 'Throttling and bounds'
const CACHE = 'Caches'
const STORAGE = 'Storage'
const SERVER = 'The standalone server'
const PASSWORDS = 'Passwords'
const VALIDATOR_NAME = `(${PASSWORD_VALIDATOR_NAMES.join('|')})`

/** Every setting, in the order they are checked and documented; names are simplejwt's where it has one. */
export const SETTINGS = {
  ACCESS_TOKEN_LIFETIME: duration(300, { group: TOKENS, simplejwt: 'ACCESS_TOKEN_LIFETIME', doc: 'lifetime of access tokens' }),
  REFRESH_TOKEN_LIFETIME: duration(86400, { group: TOKENS, simplejwt: 'REFRESH_TOKEN_LIFETIME', doc: 'lifetime of refresh tokens' }),
  ROTATE_REFRESH_TOKENS: flag(false, 'false', { group: TOKENS, simplejwt: 'ROTATE_REFRESH_TOKENS', doc: '`/refresh/` also returns a new refresh token' }),
  BLACKLIST_AFTER_ROTATION: flag(false, 'false', { group: TOKENS, simplejwt: 'BLACKLIST_AFTER_ROTATION', doc: 'the rotated-away refresh token is blacklisted; needs `ROTATE_REFRESH_TOKENS` (refused otherwise, instead of silently doing nothing)' }),
  UPDATE_LAST_LOGIN: flag(false, 'false', { group: TOKENS, simplejwt: 'UPDATE_LAST_LOGIN', doc: 'set `users.last_login` at each login' }),
  REFRESH_REUSE_DETECTION: flag((s) => s.ROTATE_REFRESH_TOKENS === true && s.BLACKLIST_AFTER_ROTATION === true, '', { group: TOKENS, doc: 'a rotated-away refresh token presented again revokes its whole family; on by default when both settings above are on' }),
  REFRESH_REUSE_INTERVAL: duration(0, { minimum: 0, expect: 'a duration such as 0, 10s or 1m', group: TOKENS, doc: 'replays within this time after a rotation are refused without revoking the family (for clients that retry)' }),
  SLIDING_TOKEN_LIFETIME: duration(300, { group: TOKENS, simplejwt: 'SLIDING_TOKEN_LIFETIME', doc: 'lifetime of a sliding token (and of each refreshed one)' }),
  SLIDING_TOKEN_REFRESH_LIFETIME: duration(86400, { group: TOKENS, simplejwt: 'SLIDING_TOKEN_REFRESH_LIFETIME', doc: 'how long after login a sliding token may be refreshed (its `refresh_exp` claim)' }),
  AUTH_TOKEN_CLASSES: {
    text: Type.String({ pattern: '^\\s*(access|sliding)(\\s*,\\s*(access|sliding))?\\s*$', description: 'access, sliding, or both comma-separated (access,sliding)' }),
    value: Type.Array(Type.Union([Type.Literal('access'), Type.Literal('sliding')]), { minItems: 1, uniqueItems: true }),
    parse: (text: string) => list(text) as Array<'access' | 'sliding'>,
    fallback: ['access'] as Array<'access' | 'sliding'>,
    shown: 'access',
    group: TOKENS,
    simplejwt: 'AUTH_TOKEN_CLASSES',
    doc: 'token types protected routes accept, tried in order: `access`, `sliding`, or `access,sliding`'
  },
  AUTH_STATELESS: flag(false, 'false', { group: TOKENS, simplejwt: 'JWTStatelessUserAuthentication', doc: 'protected routes trust the token\'s claims alone, without loading the user: no database round trip, but no inactive-user or revoke-all check on access tokens' }),
  JWT_ALGORITHM: choice(ALGORITHMS, 'HS256', { group: KEYS, simplejwt: 'ALGORITHM', doc: '`HS256`, `HS384`, `HS512`, `RS256`, `RS384`, `RS512`, `PS256`, `PS384`, `PS512`, `ES256`, `ES384`, `ES512` or `EdDSA` (Ed25519); tokens with any other `alg` are refused' }),
  JWT_SIGNING_KEY: text(Type.String({ minLength: 1, description: 'a non-empty key' }), undefined, { group: KEYS, simplejwt: 'SIGNING_KEY', secret: true, file: true, doc: 'the HMAC secret, or the PEM private key (a PEM value may use literal `\\n` for newlines); required in production, generated once and stored in the database otherwise' }),
  JWT_VERIFYING_KEY: text(Type.String({ minLength: 1, description: 'a PEM public key' }), undefined, { group: KEYS, simplejwt: 'VERIFYING_KEY', file: true, doc: 'the PEM public key (asymmetric algorithms); derived from the signing key when unset, and checked against it at start' }),
  JWT_PREVIOUS_VERIFYING_KEYS: text(Type.String({ minLength: 1, description: 'a JWKS document of retired keys' }), undefined, { group: KEYS, secret: true, file: true, doc: 'retired keys still accepted for verification: a JWKS document `{"keys":[…]}`, each key with its `alg`' }),
  JWT_ACCEPT_SHORT_SIGNING_KEY: flag(false, 'false', { group: KEYS, doc: 'for the cutover from Django: production accepts an HMAC key (current or retired) shorter than its hash, such as a short Django `SECRET_KEY`, and logs a warning at start; every other production check stays on. Rotate to a long key after the cutover (see docs/keys.md)' }),
  JWT_AUDIENCE: text(Type.String({ minLength: 1, description: 'a non-empty string' }), undefined, { group: CLAIMS, simplejwt: 'AUDIENCE', doc: 'added as `aud` and required on every token' }),
  JWT_ISSUER: text(Type.String({ minLength: 1, description: 'a non-empty string' }), undefined, { group: CLAIMS, simplejwt: 'ISSUER', doc: 'added as `iss` and required on every token' }),
  JWT_LEEWAY: duration(0, { minimum: 0, expect: 'a duration such as 0, 30s or 1m', group: CLAIMS, simplejwt: 'LEEWAY', doc: 'clock skew allowed on `exp`, `nbf` and `iat`' }),
  AUTH_HEADER_TYPES: {
    text: Type.String({ pattern: `^\\s*${HEADER_TYPE}(\\s*,\\s*${HEADER_TYPE})*\\s*$`, description: 'a comma-separated list of authorization schemes such as Bearer,JWT' }),
    value: Type.Array(Type.String({ pattern: `^${HEADER_TYPE}$` }), { minItems: 1 }),
    parse: list,
    fallback: ['Bearer'],
    shown: 'Bearer',
    group: CLAIMS,
    simplejwt: 'AUTH_HEADER_TYPES',
    doc: 'accepted `Authorization` schemes, comma-separated, case-sensitive'
  },
  USER_ID_CLAIM: claimName('user_id', { group: CLAIMS, simplejwt: 'USER_ID_CLAIM', doc: 'claim holding the user\'s id' }),
  TOKEN_TYPE_CLAIM: claimName('token_type', { group: CLAIMS, simplejwt: 'TOKEN_TYPE_CLAIM', doc: 'claim holding `access`, `refresh` or `sliding`' }),
  JTI_CLAIM: claimName('jti', { group: CLAIMS, simplejwt: 'JTI_CLAIM', doc: 'claim holding the token\'s id' }),
  LOGIN_THROTTLE_USERNAME: rate({ failures: 10, seconds: 60 }, 'failures per window such as 10/1m, or off', { group: ABUSE, doc: 'failed logins allowed per username per window (`N/duration`), or `off`' }),
  LOGIN_THROTTLE_IP: rate({ failures: 100, seconds: 60 }, 'failures per window such as 100/1m, or off', { group: ABUSE, doc: 'failed logins allowed per client address per window, or `off`' }),
  LOGIN_QUEUE_SIZE: count(32, 'a number of logins from 1 to 9999999', { group: ABUSE, doc: 'password checks running or waiting at once, in all; more are answered 503 with `Retry-After` at once, before any hashing' }),
  LOGIN_QUEUE_PER_CLIENT: count(4, 'a number of logins from 1 to 9999999', { group: ABUSE, doc: 'password checks running or waiting at once from one client address; more are answered 429 with `Retry-After` at once' }),
  REFRESH_THROTTLE: rate({ failures: 60, seconds: 60 }, 'refreshes per window such as 60/1m, or off', { group: ABUSE, doc: 'refreshes (and sliding refreshes) allowed per user per window, or `off`; more are answered 429' }),
  DATABASE_TIMEOUT: duration(5, { expect: 'a duration of at least 1s such as 5s', group: ABUSE, doc: 'the longest any database call may take (`statement_timeout`, `lock_timeout` and a bound on the client side); the request then gets 503 with `Retry-After`' }),
  REDIS_TIMEOUT: duration(1, { expect: 'a duration of at least 1s such as 1s', group: ABUSE, doc: 'the longest a Redis command may take; the in-process counters are used meanwhile' }),
  USER_CACHE_TTL: duration(60, { minimum: 0, expect: 'a duration such as 0 (off), 30s or 1m', group: CACHE, doc: 'the longest a cached user, or a cached token status, lives without a notification (changes arrive through `LISTEN/NOTIFY` at once); `0` turns both caches off' }),
  USER_CACHE_SIZE: count(10_000, 'a number of users from 1 to 9999999', { group: CACHE, doc: 'users kept in memory per instance, and as many token statuses' }),
  PASSWORD_VALIDATORS: {
    text: Type.String({ pattern: `^\\s*(off|${VALIDATOR_NAME}(\\s*,\\s*${VALIDATOR_NAME})*)\\s*$`, description: `off, or a comma-separated list of ${PASSWORD_VALIDATOR_NAMES.join(', ')}` }),
    value: Type.Array(Type.Union(PASSWORD_VALIDATOR_NAMES.map(name => Type.Literal(name))), { uniqueItems: true }),
    parse: (text: string) => text.trim() === 'off' ? [] : list(text) as PasswordValidatorName[],
    fallback: [...PASSWORD_VALIDATOR_NAMES] as PasswordValidatorName[],
    shown: PASSWORD_VALIDATOR_NAMES.join(','),
    group: PASSWORDS,
    doc: 'Django\'s `AUTH_PASSWORD_VALIDATORS` for passwords set with the CLI or the admin API (never imported hashes), by class name, run in this order; every failing one\'s message is reported (400 `{"password": [...]}`); `off` for none'
  },
  PASSWORD_MIN_LENGTH: count(8, 'a number of characters from 1 to 9999999', { group: PASSWORDS, doc: '`MinimumLengthValidator`\'s `min_length`: the fewest characters a new password may have' }),
  REDIS_URL: text(Type.String({ pattern: '^rediss?://.+', description: 'a redis:// or rediss:// URL' }), undefined, { group: STORAGE, doc: '`redis://…`: throttling counters shared by every instance; unset counts in-process' }),
  TRUST_PROXY: {
    text: Type.String({ pattern: '^(true|false|\\d{1,2}|\\s*[0-9A-Za-z.:/]+(\\s*,\\s*[0-9A-Za-z.:/]+)*\\s*)$', description: 'true, false, a number of proxy hops, or the proxies\' addresses and CIDR ranges, comma-separated (10.0.0.0/8,loopback)' }),
    value: Type.Union([Type.Boolean(), Integer(0), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })]),
    parse: (text: string): boolean | number | string[] => {
      if (text === 'true' || text === 'false') return text === 'true'
      if (/^\d{1,2}$/.test(text)) return Number(text)
      // proxy-addr's forms: an address, an address/prefix length, or one of its named ranges.
      const ranges = text.split(',').map(item => item.trim())
      for (const range of ranges) {
        const [address, bits, extra] = range.split('/')
        const family = isIP(address)
        const fits = family !== 0 && extra === undefined && (bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)))
        if (!fits && !['loopback', 'linklocal', 'uniquelocal'].includes(range)) throw new ConfigError('TRUST_PROXY', `${JSON.stringify(range)} is neither an IP address, a CIDR range (10.0.0.0/8) nor loopback, linklocal or uniquelocal`)
      }
      return ranges
    },
    fallback: false as boolean | number | string[],
    shown: 'false',
    group: SERVER,
    server: true,
    doc: 'whose `X-Forwarded-For` to believe for the client address (which keys login throttling): the number of proxy hops in front of the service (`1` behind one load balancer), or the proxies\' addresses and CIDR ranges (`10.0.0.0/8,loopback`); `true` believes any client\'s header, so that a client picks the address it is counted under (and can get another address locked out): production logs a warning'
  },
  DATABASE_URL: text(Type.String({ pattern: '^(postgres|postgresql)://.+|^memory://$', description: 'a postgres:// or postgresql:// URL, or memory://' }), undefined, { group: STORAGE, doc: '`postgres://…` for PostgreSQL; unset for the embedded PGlite in `DATA_DIR`; `memory://` for a throwaway database' }),
  DATA_DIR: text(Type.String({ minLength: 1, description: 'a directory path' }), './.data', { group: STORAGE, doc: 'where the embedded database lives' }),
  MIGRATE_ON_START: flag(true, 'true', { group: STORAGE, doc: 'apply pending migrations at start (under a PostgreSQL advisory lock, so instances may start together)' }),
  REQUEST_TIMEOUT: duration(30, { expect: 'a duration of at least 1s such as 30s', group: SERVER, server: true, doc: 'the time a client has to send a whole request (Node\'s `requestTimeout`); then 408' }),
  HEADERS_TIMEOUT: duration(10, { expect: 'a duration of at least 1s such as 10s', group: SERVER, server: true, doc: 'the time a client has to send the request headers (Node\'s `headersTimeout`); then 408' }),
  KEEP_ALIVE_TIMEOUT: duration(72, { expect: 'a duration of at least 1s such as 72s', group: SERVER, server: true, doc: 'how long an idle keep-alive connection stays open (longer than common load balancers\' 60 s)' }),
  HOST: text(Type.String({ minLength: 1, description: 'a host name or address' }), '127.0.0.1', { group: SERVER, server: true, doc: 'the address to listen on' }),
  PORT: {
    text: Type.String({ pattern: '^\\d{1,5}$', description: 'a port number' }),
    value: Type.Integer({ minimum: 0, maximum: 65535 }),
    parse: Number,
    fallback: 3000,
    shown: '3000',
    group: SERVER,
    server: true,
    doc: 'the port to listen on'
  },
  LOG_LEVEL: choice(LOG_LEVELS, 'info' as LogLevel, { group: SERVER, server: true, doc: '`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`' }),
  NODE_ENV: {
    text: Type.String(),
    value: Type.Boolean(),
    parse: (text: string) => text === 'production',
    fallback: false,
    shown: '',
    group: SERVER,
    doc: '`production` refuses a missing signing key and an HMAC key (current or retired) shorter than its hash (32 bytes for HS256, 48 for HS384, 64 for HS512; see `JWT_ACCEPT_SHORT_SIGNING_KEY`); in library mode it defaults to the process\'s'
  }
} satisfies Record<string, Setting>

type Settings = typeof SETTINGS
export type SettingName = keyof Settings
/** NODE_ENV is kept as PRODUCTION: the only question the code asks of it. */
type ConfigProperties = { [K in Exclude<SettingName, 'NODE_ENV'>]: Settings[K]['value'] } & { PRODUCTION: TBoolean }

/** The environment as read: every variable a string (the descriptions are the error texts). */
export const EnvSchema = Type.Object(Object.fromEntries(
  Object.entries(SETTINGS).map(([name, setting]) => [name, Type.Optional(setting.text)])
) as { [K in SettingName]: TOptional<TSchema> })

/** The validated settings every part of the app receives. */
export const ConfigSchema = Type.Object({
  ...Object.fromEntries(Object.entries(SETTINGS).filter(([name]) => name !== 'NODE_ENV').map(([name, setting]) => [name, setting.value])),
  PRODUCTION: Type.Boolean()
} as unknown as ConfigProperties)
export type Config = Static<typeof ConfigSchema>

/** Settings that may instead be read from the file that `<NAME>_FILE` names. */
export const FILE_SETTINGS = Object.entries(SETTINGS).filter(([, setting]) => 'file' in setting).map(([name]) => name)

/**
 * The settings as the plugin's options take them: typed values, or text as the environment writes
 * it (`'5m'`, `'true'`). Undefined counts as unset, so `process.env.X` may be passed as it is.
 */
export type SimpleJwtSettings = {
  -readonly [K in SettingName as Settings[K] extends { server: true } ? never : K]?: (K extends 'NODE_ENV' ? string : Static<Settings[K]['value']> | TextOf<Static<Settings[K]['value']>>) | undefined
} & {
  JWT_SIGNING_KEY_FILE?: string | undefined
  JWT_VERIFYING_KEY_FILE?: string | undefined
  JWT_PREVIOUS_VERIFYING_KEYS_FILE?: string | undefined
}

/** How the environment writes a value of this type, so that `'yes'` for a flag fails to typecheck. */
type TextOf<V> = [V] extends [boolean]
  ? 'true' | 'false' | '1' | '0'
  : [V] extends [number] ? `${number}` | `${number}${'s' | 'm' | 'h' | 'd'}` : string

/** A URL with its password hidden, for messages and logs. */
export function redactUrl (url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@')
}

/** Values that must never be echoed back in an error message. */
const SECRET_SETTINGS = new Set(Object.entries(SETTINGS).filter(([, setting]) => 'secret' in setting).map(([name]) => name))

type RawEnv = Record<string, string | undefined>

/** Reads `<NAME>_FILE` into `<NAME>`, and turns a literal `\n` in a PEM value into a newline. */
function resolveFiles (env: RawEnv): RawEnv {
  const resolved: RawEnv = { ...env }
  for (const name of FILE_SETTINGS) {
    const file = env[`${name}_FILE`]
    if (file !== undefined && file !== '') {
      if (env[name] !== undefined && env[name] !== '') {
        throw new ConfigError(`${name}_FILE`, `set both ${name} and ${name}_FILE; choose one`)
      }
      try {
        resolved[name] = readFileSync(file, 'utf8').replace(/\r?\n$/, '')
      } catch (err) {
        throw new ConfigError(`${name}_FILE`, `cannot read ${JSON.stringify(file)} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
      }
      // An empty file is a mistake, never a request for the generated development key.
      if (resolved[name] === '') throw new ConfigError(`${name}_FILE`, `${JSON.stringify(file)} is empty`)
    }
    const value: unknown = resolved[name]
    if (typeof value === 'string' && value.includes('-----BEGIN')) resolved[name] = value.replace(/\\n/g, '\n')
  }
  return resolved
}

/** "NAME: must be <what the setting expects> (got …)", never echoing a secret or a URL's password. */
function badValue (name: string, setting: Setting, value: unknown): ConfigError {
  const shown = (name === 'DATABASE_URL' || name === 'REDIS_URL') && typeof value === 'string' ? redactUrl(value) : value
  const got = SECRET_SETTINGS.has(name) ? '' : ` (got ${JSON.stringify(shown)})`
  return new ConfigError(name, `must be ${setting.text.description ?? 'valid'}${got}`)
}

/**
 * The settings from values given by name: text as the environment writes it (checked against the
 * setting's text, then parsed), or, from the plugin's options, typed values (checked against the
 * setting's type). Empty strings and undefined count as unset; unset ones take their default.
 */
function settingsFrom (given: Record<string, unknown>): Config {
  const values: Record<string, unknown> = {}
  for (const [name, setting] of Object.entries(SETTINGS) as Array<[string, Setting]>) {
    const value = given[name]
    if (value === undefined || value === '') {
      values[name] = typeof setting.fallback === 'function' ? (setting.fallback as (s: Record<string, unknown>) => unknown)(values) : setting.fallback
    } else if (typeof value === 'string') {
      if (!Value.Check(setting.text, value)) throw badValue(name, setting, value)
      values[name] = setting.parse(value)
    } else {
      if (!Value.Check(setting.value, value)) throw badValue(name, setting, value)
      values[name] = value
    }
  }
  const { NODE_ENV: production, ...config } = values
  return { ...config, PRODUCTION: production } as Config
}

/** What the caller of loadConfig will do with the settings. */
export interface LoadOptions {
  /**
   * False for a command that signs and verifies nothing (the import, user management, migrations):
   * the signing key is then neither required in production nor checked.
   */
  signs?: boolean
}

/**
 * Validates the environment and returns the settings, or throws a ConfigError naming the
 * first bad variable. Empty strings count as unset, as with most twelve-factor tooling.
 */
export function loadConfig (rawEnv: RawEnv, options: LoadOptions = {}): Config {
  const config = settingsFrom(resolveFiles(rawEnv))
  checkConfig(config, options)
  return config
}

/** The plugin's own options, which are not settings. */
const OPTION_NAMES = new Set(['prefix', 'database', 'tokenClaims', 'now', 'admin', 'jwksPath', 'securityScheme', 'authenticateDecorator', 'authenticationErrorBody', 'operationIdPrefix', 'config'])
const SETTING_NAMES = new Set([...Object.keys(SETTINGS), ...FILE_SETTINGS.map(name => `${name}_FILE`)])
/** Settings of the standalone process that mean nothing inside an application. */
const SERVER_SETTINGS = new Set(Object.entries(SETTINGS).filter(([, setting]) => 'server' in setting).map(([name]) => name))

/** Edit distance, for names of at most a few dozen characters (longer ones are never close). */
function distance (a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2 || a.length > 64) return Infinity
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]
}

/**
 * `; did you mean ACCESS_TOKEN_LIFETIME?` for `accessTokenLifetime`, `access_token_lifetime` or
 * `ACESS_TOKEN_LIFETIME`, or an option's name in another case; empty when nothing is close.
 */
export function didYouMean (name: string): string {
  if (name.length > 64) return ''
  const options = [...OPTION_NAMES]
  const option = options.find(known => known.toLowerCase() === name.toLowerCase().replaceAll('_', ''))
  if (option !== undefined) return `; did you mean ${option}?`
  // camelCase and snake_case to the settings' SCREAMING_SNAKE_CASE.
  const screaming = name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replaceAll('-', '_').toUpperCase()
  const candidates = [...SETTING_NAMES].filter(known => !SERVER_SETTINGS.has(known))
  const exact = candidates.find(known => known === screaming)
  if (exact !== undefined) return `; did you mean ${exact}?`
  let best: string | undefined
  let bestDistance = 3
  for (const known of candidates) {
    const d = distance(screaming, known)
    if (d < bestDistance) {
      best = known
      bestDistance = d
    }
  }
  return best === undefined ? '' : `; did you mean ${best}?`
}

/**
 * The plugin's settings (library mode), validated as the environment is but taking typed values as
 * they are; unknown names are refused, not ignored. NODE_ENV defaults to `processEnv`'s.
 */
export function configFromOptions (options: Record<string, unknown>, processEnv: RawEnv = {}): Config {
  const given: Record<string, unknown> = { NODE_ENV: processEnv.NODE_ENV }
  for (const [name, value] of Object.entries(options)) {
    if (OPTION_NAMES.has(name)) continue
    if (!SETTING_NAMES.has(name) || SERVER_SETTINGS.has(name)) {
      throw new ConfigError(name, SERVER_SETTINGS.has(name) ? 'is a setting of the standalone server, not of the plugin' : `is not a setting of fastify-simplejwt${didYouMean(name)}`)
    }
    if (value !== undefined) given[name] = value
  }
  const files: RawEnv = {}
  for (const name of FILE_SETTINGS) {
    const file = given[`${name}_FILE`]
    if (file !== undefined && typeof file !== 'string') throw new ConfigError(`${name}_FILE`, `must be a file path (got ${JSON.stringify(file)})`)
    files[name] = given[name] as string | undefined
    files[`${name}_FILE`] = file
  }
  const config = settingsFrom({ ...given, ...resolveFiles(files) })
  checkConfig(config)
  return config
}

/**
 * Cross-field rules that a schema cannot express; fails closed on unsafe combinations.
 * Also used on configs assembled in code (tests, library mode) so that they obey the same rules.
 */
export function checkConfig (config: Config, options: LoadOptions = {}): void {
  if (!Value.Check(ConfigSchema, config)) {
    const error = Value.Errors(ConfigSchema, config).First()
    throw new ConfigError(error?.path.slice(1) ?? 'config', error?.message ?? 'invalid')
  }
  const claims = [config.USER_ID_CLAIM, config.TOKEN_TYPE_CLAIM, config.JTI_CLAIM]
  if (new Set(claims).size !== claims.length) {
    throw new ConfigError('USER_ID_CLAIM', 'USER_ID_CLAIM, TOKEN_TYPE_CLAIM and JTI_CLAIM must differ')
  }
  // simplejwt silently ignores BLACKLIST_AFTER_ROTATION without rotation; a setting that does nothing is refused.
  if (config.BLACKLIST_AFTER_ROTATION && !config.ROTATE_REFRESH_TOKENS) {
    throw new ConfigError('BLACKLIST_AFTER_ROTATION', 'has no effect unless ROTATE_REFRESH_TOKENS is true; set both, or neither')
  }
  if (config.REFRESH_REUSE_DETECTION && !(config.ROTATE_REFRESH_TOKENS && config.BLACKLIST_AFTER_ROTATION)) {
    throw new ConfigError('REFRESH_REUSE_DETECTION', 'needs ROTATE_REFRESH_TOKENS and BLACKLIST_AFTER_ROTATION to be true (a reused token is only seen once rotated tokens are blacklisted)')
  }
  const reserved = new Set(['exp', 'iat', 'nbf', 'aud', 'iss', 'sub'])
  for (const [name, value] of [['USER_ID_CLAIM', config.USER_ID_CLAIM], ['TOKEN_TYPE_CLAIM', config.TOKEN_TYPE_CLAIM], ['JTI_CLAIM', config.JTI_CLAIM]]) {
    if (reserved.has(value)) throw new ConfigError(name, `must not be the registered claim ${JSON.stringify(value)}`)
  }
  // A command that signs nothing needs no key, and a malformed one is not its concern.
  if (options.signs === false) return
  if (config.JWT_SIGNING_KEY === undefined) {
    if (config.PRODUCTION) {
      throw new ConfigError('JWT_SIGNING_KEY', 'is required when NODE_ENV=production (or set JWT_SIGNING_KEY_FILE)')
    }
    if (config.JWT_VERIFYING_KEY !== undefined) {
      throw new ConfigError('JWT_VERIFYING_KEY', 'is set without JWT_SIGNING_KEY; set the signing key too')
    }
  }
  // The start-up key audit: the keys must fit the algorithm and each other (src/domain/keys.ts). Without a
  // signing key (development: one is generated later) the retired keys are still checked now.
  try {
    if (config.JWT_SIGNING_KEY !== undefined) loadKeySet(keySettings(config, config.JWT_SIGNING_KEY))
    else if (config.JWT_PREVIOUS_VERIFYING_KEYS !== undefined) parsePreviousKeys(config.JWT_PREVIOUS_VERIFYING_KEYS, strongKeysOnly(keySettings(config, '')))
  } catch (err) {
    if (err instanceof KeyError) throw new ConfigError(err.variable, err.message)
    throw err
  }
}

/** The key settings of a config, with the signing key to use (configured, or generated in development). */
export function keySettings (config: Config, signingKey: string) {
  return {
    alg: config.JWT_ALGORITHM,
    signingKey,
    verifyingKey: config.JWT_VERIFYING_KEY,
    previousKeys: config.JWT_PREVIOUS_VERIFYING_KEYS,
    production: config.PRODUCTION,
    acceptShortKeys: config.JWT_ACCEPT_SHORT_SIGNING_KEY
  }
}

/** The password rules of a config, as the account service takes them. */
export function passwordRules (config: Pick<Config, 'PASSWORD_VALIDATORS' | 'PASSWORD_MIN_LENGTH'>): PasswordRules {
  return { validators: config.PASSWORD_VALIDATORS, minLength: config.PASSWORD_MIN_LENGTH }
}
