// Every setting, validated once at start; mirrors rest_framework_simplejwt/settings.py
import { readFileSync } from 'node:fs'
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { ALGORITHMS, KeyError, loadKeySet, parsePreviousKeys } from './keys.js'

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

const Duration = (description: string) => Type.String({ pattern: '^\\s*\\d{1,9}[smhd]?\\s*$', description })
const Flag = (description: string) => Type.String({ pattern: '^(true|false|1|0)$', description })
const ClaimName = (description: string) => Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$', description })
const Rate = (description: string) => Type.String({ pattern: '^(off|[1-9]\\d{0,5}/[1-9]\\d{0,8}[smhd]?)$', description })
const Count = (description: string) => Type.String({ pattern: '^[1-9]\\d{0,6}$', description })
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/**
 * The environment as read: every variable a string. Descriptions double as the error text,
 * so a bad value is reported as "VARIABLE: must be <description> (got …)".
 */
export const EnvSchema = Type.Object({
  ACCESS_TOKEN_LIFETIME: Type.Optional(Duration('a duration such as 300, 300s, 5m, 1h or 1d')),
  REFRESH_TOKEN_LIFETIME: Type.Optional(Duration('a duration such as 300, 300s, 5m, 1h or 1d')),
  ROTATE_REFRESH_TOKENS: Type.Optional(Flag('true, false, 1 or 0')),
  BLACKLIST_AFTER_ROTATION: Type.Optional(Flag('true, false, 1 or 0')),
  UPDATE_LAST_LOGIN: Type.Optional(Flag('true, false, 1 or 0')),
  REFRESH_REUSE_DETECTION: Type.Optional(Flag('true, false, 1 or 0')),
  REFRESH_REUSE_INTERVAL: Type.Optional(Duration('a duration such as 0, 10s or 1m')),
  SLIDING_TOKEN_LIFETIME: Type.Optional(Duration('a duration such as 300, 300s, 5m, 1h or 1d')),
  SLIDING_TOKEN_REFRESH_LIFETIME: Type.Optional(Duration('a duration such as 300, 300s, 5m, 1h or 1d')),
  AUTH_TOKEN_CLASSES: Type.Optional(Type.String({ pattern: '^\\s*(access|sliding)(\\s*,\\s*(access|sliding))?\\s*$', description: 'access, sliding, or both comma-separated (access,sliding)' })),
  AUTH_STATELESS: Type.Optional(Flag('true, false, 1 or 0')),
  JWT_ALGORITHM: Type.Optional(Type.Union(ALGORITHMS.map(a => Type.Literal(a)), { description: `one of ${ALGORITHMS.join(', ')}` })),
  JWT_SIGNING_KEY: Type.Optional(Type.String({ minLength: 1, description: 'a non-empty key' })),
  JWT_VERIFYING_KEY: Type.Optional(Type.String({ minLength: 1, description: 'a PEM public key' })),
  JWT_PREVIOUS_VERIFYING_KEYS: Type.Optional(Type.String({ minLength: 1, description: 'a JWKS document of retired keys' })),
  JWT_AUDIENCE: Type.Optional(Type.String({ minLength: 1, description: 'a non-empty string' })),
  JWT_ISSUER: Type.Optional(Type.String({ minLength: 1, description: 'a non-empty string' })),
  JWT_LEEWAY: Type.Optional(Duration('a duration such as 0, 30s or 1m')),
  AUTH_HEADER_TYPES: Type.Optional(Type.String({ pattern: "^\\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+(\\s*,\\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*\\s*$", description: 'a comma-separated list of authorization schemes such as Bearer,JWT' })),
  USER_ID_CLAIM: Type.Optional(ClaimName('a claim name (letters, digits, underscore)')),
  TOKEN_TYPE_CLAIM: Type.Optional(ClaimName('a claim name (letters, digits, underscore)')),
  JTI_CLAIM: Type.Optional(ClaimName('a claim name (letters, digits, underscore)')),
  LOGIN_THROTTLE_USERNAME: Type.Optional(Rate('failures per window such as 10/1m, or off')),
  LOGIN_THROTTLE_IP: Type.Optional(Rate('failures per window such as 100/1m, or off')),
  LOGIN_QUEUE_SIZE: Type.Optional(Count('a number of logins from 1 to 9999999')),
  LOGIN_QUEUE_PER_CLIENT: Type.Optional(Count('a number of logins from 1 to 9999999')),
  REFRESH_THROTTLE: Type.Optional(Rate('refreshes per window such as 60/1m, or off')),
  DATABASE_TIMEOUT: Type.Optional(Duration('a duration of at least 1s such as 5s')),
  REDIS_TIMEOUT: Type.Optional(Duration('a duration of at least 1s such as 1s')),
  REQUEST_TIMEOUT: Type.Optional(Duration('a duration of at least 1s such as 30s')),
  HEADERS_TIMEOUT: Type.Optional(Duration('a duration of at least 1s such as 10s')),
  KEEP_ALIVE_TIMEOUT: Type.Optional(Duration('a duration of at least 1s such as 72s')),
  USER_CACHE_TTL: Type.Optional(Duration('a duration such as 0 (off), 30s or 1m')),
  USER_CACHE_SIZE: Type.Optional(Type.String({ pattern: '^[1-9]\\d{0,6}$', description: 'a number of users from 1 to 9999999' })),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://.+', description: 'a redis:// or rediss:// URL' })),
  TRUST_PROXY: Type.Optional(Type.String({ pattern: '^(true|false|\\d{1,2})$', description: 'true, false or a number of proxy hops' })),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^(postgres|postgresql)://.+|^memory://$', description: 'a postgres:// or postgresql:// URL, or memory://' })),
  DATA_DIR: Type.Optional(Type.String({ minLength: 1, description: 'a directory path' })),
  MIGRATE_ON_START: Type.Optional(Flag('true, false, 1 or 0')),
  HOST: Type.Optional(Type.String({ minLength: 1, description: 'a host name or address' })),
  PORT: Type.Optional(Type.String({ pattern: '^\\d{1,5}$', description: 'a port number' })),
  LOG_LEVEL: Type.Optional(Type.Union(LOG_LEVELS.map(l => Type.Literal(l)), { description: `one of ${LOG_LEVELS.join(', ')}` })),
  NODE_ENV: Type.Optional(Type.String())
})
export type Env = Static<typeof EnvSchema>

/** At most `failures` failed logins per `seconds`, per key. */
export const RateLimitSchema = Type.Object({ failures: Type.Integer({ minimum: 1 }), seconds: Type.Integer({ minimum: 1 }) })
export type RateLimit = Static<typeof RateLimitSchema>

/** A rate written `10/1m`; null for `off`. */
function parseRate (text: string | undefined, fallback: RateLimit): RateLimit | null {
  if (text === undefined) return fallback
  if (text === 'off') return null
  const [failures, window] = text.split('/')
  return { failures: Number(failures), seconds: parseDuration(window) as number }
}

/** The validated settings every part of the app receives; names are simplejwt's where it has one. */
export const ConfigSchema = Type.Object({
  ACCESS_TOKEN_LIFETIME: Type.Integer({ minimum: 1, description: 'seconds' }),
  REFRESH_TOKEN_LIFETIME: Type.Integer({ minimum: 1, description: 'seconds' }),
  ROTATE_REFRESH_TOKENS: Type.Boolean(),
  BLACKLIST_AFTER_ROTATION: Type.Boolean(),
  UPDATE_LAST_LOGIN: Type.Boolean(),
  REFRESH_REUSE_DETECTION: Type.Boolean({ description: 'revoke a family when a rotated-away refresh token comes back' }),
  REFRESH_REUSE_INTERVAL: Type.Integer({ minimum: 0, description: 'seconds after a rotation during which a replay is refused without revoking the family' }),
  SLIDING_TOKEN_LIFETIME: Type.Integer({ minimum: 1, description: 'seconds' }),
  SLIDING_TOKEN_REFRESH_LIFETIME: Type.Integer({ minimum: 1, description: 'seconds' }),
  AUTH_TOKEN_CLASSES: Type.Array(Type.Union([Type.Literal('access'), Type.Literal('sliding')]), { minItems: 1, uniqueItems: true, description: 'token types protected routes accept, tried in this order' }),
  AUTH_STATELESS: Type.Boolean({ description: 'authenticate protected routes from the token\'s claims alone, without loading the user (JWTStatelessUserAuthentication)' }),
  JWT_ALGORITHM: Type.Union(ALGORITHMS.map(a => Type.Literal(a))),
  JWT_SIGNING_KEY: Type.Optional(Type.String({ minLength: 1 })),
  JWT_VERIFYING_KEY: Type.Optional(Type.String({ minLength: 1 })),
  JWT_PREVIOUS_VERIFYING_KEYS: Type.Optional(Type.String({ minLength: 1 })),
  JWT_AUDIENCE: Type.Optional(Type.String()),
  JWT_ISSUER: Type.Optional(Type.String()),
  JWT_LEEWAY: Type.Integer({ minimum: 0, description: 'seconds' }),
  AUTH_HEADER_TYPES: Type.Array(Type.String(), { minItems: 1 }),
  USER_ID_CLAIM: Type.String(),
  TOKEN_TYPE_CLAIM: Type.String(),
  JTI_CLAIM: Type.String(),
  LOGIN_THROTTLE_USERNAME: Type.Union([RateLimitSchema, Type.Null()]),
  LOGIN_THROTTLE_IP: Type.Union([RateLimitSchema, Type.Null()]),
  LOGIN_QUEUE_SIZE: Type.Integer({ minimum: 1, description: 'logins checking or waiting to check a password at once, in all; more are answered 503 at once' }),
  LOGIN_QUEUE_PER_CLIENT: Type.Integer({ minimum: 1, description: 'logins checking or waiting to check a password at once from one client address; more are answered 429 at once' }),
  REFRESH_THROTTLE: Type.Union([RateLimitSchema, Type.Null()], { description: 'refreshes (and sliding refreshes) per user per window' }),
  DATABASE_TIMEOUT: Type.Integer({ minimum: 1, description: 'seconds any database call may take (statement_timeout, lock_timeout, and a bound on the client side); then 503' }),
  REDIS_TIMEOUT: Type.Integer({ minimum: 1, description: 'seconds a Redis command may take before the in-process counters are used instead' }),
  REQUEST_TIMEOUT: Type.Integer({ minimum: 1, description: 'seconds a client has to send a whole request (Node requestTimeout); then 408' }),
  HEADERS_TIMEOUT: Type.Integer({ minimum: 1, description: 'seconds a client has to send the request headers (Node headersTimeout); then 408' }),
  KEEP_ALIVE_TIMEOUT: Type.Integer({ minimum: 1, description: 'seconds an idle keep-alive connection stays open' }),
  USER_CACHE_TTL: Type.Integer({ minimum: 0, description: 'seconds a cached user may live without a change notification; 0 turns the cache off' }),
  USER_CACHE_SIZE: Type.Integer({ minimum: 1 }),
  REDIS_URL: Type.Optional(Type.String()),
  TRUST_PROXY: Type.Union([Type.Boolean(), Type.Integer({ minimum: 0 })]),
  DATABASE_URL: Type.Optional(Type.String()),
  DATA_DIR: Type.String(),
  MIGRATE_ON_START: Type.Boolean(),
  HOST: Type.String(),
  PORT: Type.Integer({ minimum: 0, maximum: 65535 }),
  LOG_LEVEL: Type.Union(LOG_LEVELS.map(l => Type.Literal(l))),
  PRODUCTION: Type.Boolean()
})
export type Config = Static<typeof ConfigSchema>

/** A URL with its password hidden, for messages and logs. */
export function redactUrl (url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@')
}

/** Values that must never be echoed back in an error message. */
const SECRET_VARIABLES = new Set(['JWT_SIGNING_KEY', 'JWT_PREVIOUS_VERIFYING_KEYS'])
/** Variables whose value may instead be read from the file named by `<NAME>_FILE`. */
const FILE_VARIABLES = ['JWT_SIGNING_KEY', 'JWT_VERIFYING_KEY', 'JWT_PREVIOUS_VERIFYING_KEYS'] as const

type RawEnv = Record<string, string | undefined>

/** Reads `<NAME>_FILE` into `<NAME>`, and turns a literal `\n` in a PEM value into a newline. */
function resolveFiles (env: RawEnv): RawEnv {
  const resolved: RawEnv = { ...env }
  for (const name of FILE_VARIABLES) {
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
    const value = resolved[name]
    if (value?.includes('-----BEGIN') === true) resolved[name] = value.replace(/\\n/g, '\n')
  }
  return resolved
}

function firstProblem (env: Env): ConfigError | undefined {
  const error = Value.Errors(EnvSchema, env).First()
  if (error === undefined) return undefined
  const name = error.path.slice(1)
  const schema = (EnvSchema.properties as Record<string, TSchema>)[name]
  const shown = (name === 'DATABASE_URL' || name === 'REDIS_URL') && typeof error.value === 'string' ? redactUrl(error.value) : error.value
  const got = SECRET_VARIABLES.has(name) ? '' : ` (got ${JSON.stringify(shown)})`
  return new ConfigError(name, `must be ${schema?.description ?? 'valid'}${got}`)
}

const flag = (value: string | undefined, fallback: boolean) => value === undefined ? fallback : value === 'true' || value === '1'

/**
 * Validates the environment and returns the settings, or throws a ConfigError naming the
 * first bad variable. Empty strings count as unset, as with most twelve-factor tooling.
 */
export function loadConfig (rawEnv: RawEnv): Config {
  const picked: RawEnv = {}
  const withFiles = resolveFiles(rawEnv)
  for (const name of Object.keys(EnvSchema.properties)) {
    const value = withFiles[name]
    if (value !== undefined && value !== '') picked[name] = value
  }
  const env = picked as Env
  const problem = firstProblem(env)
  if (problem !== undefined) throw problem

  const duration = (value: string | undefined, fallback: number) => value === undefined ? fallback : parseDuration(value) as number
  const rotate = flag(env.ROTATE_REFRESH_TOKENS, false)
  const blacklistAfterRotation = flag(env.BLACKLIST_AFTER_ROTATION, false)
  const config: Config = {
    ACCESS_TOKEN_LIFETIME: duration(env.ACCESS_TOKEN_LIFETIME, 300),
    REFRESH_TOKEN_LIFETIME: duration(env.REFRESH_TOKEN_LIFETIME, 86400),
    ROTATE_REFRESH_TOKENS: rotate,
    BLACKLIST_AFTER_ROTATION: blacklistAfterRotation,
    UPDATE_LAST_LOGIN: flag(env.UPDATE_LAST_LOGIN, false),
    REFRESH_REUSE_DETECTION: flag(env.REFRESH_REUSE_DETECTION, rotate && blacklistAfterRotation),
    REFRESH_REUSE_INTERVAL: duration(env.REFRESH_REUSE_INTERVAL, 0),
    SLIDING_TOKEN_LIFETIME: duration(env.SLIDING_TOKEN_LIFETIME, 300),
    SLIDING_TOKEN_REFRESH_LIFETIME: duration(env.SLIDING_TOKEN_REFRESH_LIFETIME, 86400),
    AUTH_TOKEN_CLASSES: (env.AUTH_TOKEN_CLASSES ?? 'access').split(',').map(s => s.trim() as 'access' | 'sliding'),
    AUTH_STATELESS: flag(env.AUTH_STATELESS, false),
    JWT_ALGORITHM: env.JWT_ALGORITHM ?? 'HS256',
    JWT_SIGNING_KEY: env.JWT_SIGNING_KEY,
    JWT_VERIFYING_KEY: env.JWT_VERIFYING_KEY,
    JWT_PREVIOUS_VERIFYING_KEYS: env.JWT_PREVIOUS_VERIFYING_KEYS,
    JWT_AUDIENCE: env.JWT_AUDIENCE,
    JWT_ISSUER: env.JWT_ISSUER,
    JWT_LEEWAY: duration(env.JWT_LEEWAY, 0),
    AUTH_HEADER_TYPES: (env.AUTH_HEADER_TYPES ?? 'Bearer').split(',').map(s => s.trim()),
    USER_ID_CLAIM: env.USER_ID_CLAIM ?? 'user_id',
    TOKEN_TYPE_CLAIM: env.TOKEN_TYPE_CLAIM ?? 'token_type',
    JTI_CLAIM: env.JTI_CLAIM ?? 'jti',
    LOGIN_THROTTLE_USERNAME: parseRate(env.LOGIN_THROTTLE_USERNAME, { failures: 10, seconds: 60 }),
    LOGIN_THROTTLE_IP: parseRate(env.LOGIN_THROTTLE_IP, { failures: 100, seconds: 60 }),
    LOGIN_QUEUE_SIZE: env.LOGIN_QUEUE_SIZE === undefined ? 32 : Number(env.LOGIN_QUEUE_SIZE),
    LOGIN_QUEUE_PER_CLIENT: env.LOGIN_QUEUE_PER_CLIENT === undefined ? 4 : Number(env.LOGIN_QUEUE_PER_CLIENT),
    REFRESH_THROTTLE: parseRate(env.REFRESH_THROTTLE, { failures: 60, seconds: 60 }),
    DATABASE_TIMEOUT: duration(env.DATABASE_TIMEOUT, 5),
    REDIS_TIMEOUT: duration(env.REDIS_TIMEOUT, 1),
    REQUEST_TIMEOUT: duration(env.REQUEST_TIMEOUT, 30),
    HEADERS_TIMEOUT: duration(env.HEADERS_TIMEOUT, 10),
    KEEP_ALIVE_TIMEOUT: duration(env.KEEP_ALIVE_TIMEOUT, 72),
    USER_CACHE_TTL: duration(env.USER_CACHE_TTL, 60),
    USER_CACHE_SIZE: env.USER_CACHE_SIZE === undefined ? 10_000 : Number(env.USER_CACHE_SIZE),
    REDIS_URL: env.REDIS_URL,
    TRUST_PROXY: env.TRUST_PROXY === undefined || env.TRUST_PROXY === 'false' ? false : env.TRUST_PROXY === 'true' ? true : Number(env.TRUST_PROXY),
    DATABASE_URL: env.DATABASE_URL,
    DATA_DIR: env.DATA_DIR ?? './.data',
    MIGRATE_ON_START: flag(env.MIGRATE_ON_START, true),
    HOST: env.HOST ?? '127.0.0.1',
    PORT: env.PORT === undefined ? 3000 : Number(env.PORT),
    LOG_LEVEL: env.LOG_LEVEL ?? 'info',
    PRODUCTION: env.NODE_ENV === 'production'
  }
  checkConfig(config)
  return config
}

/**
 * Cross-field rules that a schema cannot express; fails closed on unsafe combinations.
 * Also used on configs assembled in code (tests, library mode) so that they obey the same rules.
 */
export function checkConfig (config: Config): void {
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
  if (config.JWT_SIGNING_KEY === undefined) {
    if (config.PRODUCTION) {
      throw new ConfigError('JWT_SIGNING_KEY', 'is required when NODE_ENV=production (or set JWT_SIGNING_KEY_FILE)')
    }
    if (config.JWT_VERIFYING_KEY !== undefined) {
      throw new ConfigError('JWT_VERIFYING_KEY', 'is set without JWT_SIGNING_KEY; set the signing key too')
    }
  }
  // The start-up key audit: the keys must fit the algorithm and each other (src/keys.ts). Without a
  // signing key (development: one is generated later) the retired keys are still checked now.
  try {
    if (config.JWT_SIGNING_KEY !== undefined) loadKeySet(keySettings(config, config.JWT_SIGNING_KEY))
    else if (config.JWT_PREVIOUS_VERIFYING_KEYS !== undefined) parsePreviousKeys(config.JWT_PREVIOUS_VERIFYING_KEYS, config.PRODUCTION)
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
    production: config.PRODUCTION
  }
}
