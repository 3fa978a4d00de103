import { generateKeyPairSync } from 'node:crypto'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { checkConfig, ConfigError, configFromOptions, EnvSchema, loadConfig, parseDuration, type Config } from '../../src/domain/settings.js'

type Assert = Pick<typeof t, 'type' | 'fail'>

/** Runs loadConfig and returns the ConfigError it throws (fails the test when it does not throw one). */
function configError (t: Assert, env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env)
  } catch (err) {
    t.type(err, ConfigError, `${JSON.stringify(env)} throws a ConfigError`)
    return err as ConfigError
  }
  t.fail(`${JSON.stringify(env)} was accepted`)
  return new ConfigError('none', 'not thrown')
}

function checkError (t: Assert, config: Config): ConfigError {
  try {
    checkConfig(config)
  } catch (err) {
    t.type(err, ConfigError)
    return err as ConfigError
  }
  t.fail('checkConfig accepted the config')
  return new ConfigError('none', 'not thrown')
}

const tempDir = await mkdtemp(join(tmpdir(), 'fsj-config-'))
t.teardown(() => rm(tempDir, { recursive: true, force: true }))
let fileCounter = 0
async function tempFile (content: string): Promise<string> {
  const path = join(tempDir, `key-${fileCounter++}`)
  await writeFile(path, content)
  return path
}

const KEY_32 = 'k'.repeat(32)
const KEY_64 = 'k'.repeat(64)

t.test('defaults: an empty environment gives simplejwt\'s settings', async t => {
  t.strictSame(loadConfig({}), {
    ACCESS_TOKEN_LIFETIME: 300,
    REFRESH_TOKEN_LIFETIME: 86400,
    ROTATE_REFRESH_TOKENS: false,
    BLACKLIST_AFTER_ROTATION: false,
    UPDATE_LAST_LOGIN: false,
    REFRESH_REUSE_DETECTION: false,
    REFRESH_REUSE_INTERVAL: 0,
    SLIDING_TOKEN_LIFETIME: 300,
    SLIDING_TOKEN_REFRESH_LIFETIME: 86400,
    AUTH_TOKEN_CLASSES: ['access'],
    AUTH_STATELESS: false,
    JWT_ALGORITHM: 'HS256',
    JWT_SIGNING_KEY: undefined,
    JWT_VERIFYING_KEY: undefined,
    JWT_PREVIOUS_VERIFYING_KEYS: undefined,
    JWT_ACCEPT_SHORT_SIGNING_KEY: false,
    JWT_AUDIENCE: undefined,
    JWT_ISSUER: undefined,
    JWT_LEEWAY: 0,
    AUTH_HEADER_TYPES: ['Bearer'],
    USER_ID_CLAIM: 'user_id',
    TOKEN_TYPE_CLAIM: 'token_type',
    JTI_CLAIM: 'jti',
    LOGIN_THROTTLE_USERNAME: { failures: 10, seconds: 60 },
    LOGIN_THROTTLE_IP: { failures: 100, seconds: 60 },
    LOGIN_QUEUE_SIZE: 32,
    LOGIN_QUEUE_PER_CLIENT: 4,
    REFRESH_THROTTLE: { failures: 60, seconds: 60 },
    DATABASE_TIMEOUT: 5,
    REDIS_TIMEOUT: 1,
    REQUEST_TIMEOUT: 30,
    HEADERS_TIMEOUT: 10,
    KEEP_ALIVE_TIMEOUT: 72,
    USER_CACHE_TTL: 60,
    USER_CACHE_SIZE: 10000,
    PASSWORD_VALIDATORS: ['UserAttributeSimilarityValidator', 'MinimumLengthValidator', 'CommonPasswordValidator', 'NumericPasswordValidator'],
    PASSWORD_MIN_LENGTH: 8,
    REDIS_URL: undefined,
    TRUST_PROXY: false,
    DATABASE_URL: undefined,
    DATA_DIR: './.data',
    MIGRATE_ON_START: true,
    HOST: '127.0.0.1',
    PORT: 3000,
    LOG_LEVEL: 'info',
    PRODUCTION: false
  })
})

t.test('sliding and stateless settings (issue 9)', async t => {
  const config = loadConfig({ SLIDING_TOKEN_LIFETIME: '10m', SLIDING_TOKEN_REFRESH_LIFETIME: '2d', AUTH_TOKEN_CLASSES: ' sliding , access ', AUTH_STATELESS: '1' })
  t.equal(config.SLIDING_TOKEN_LIFETIME, 600)
  t.equal(config.SLIDING_TOKEN_REFRESH_LIFETIME, 172800)
  t.strictSame(config.AUTH_TOKEN_CLASSES, ['sliding', 'access'])
  t.equal(config.AUTH_STATELESS, true)
  t.strictSame(loadConfig({ AUTH_TOKEN_CLASSES: 'sliding' }).AUTH_TOKEN_CLASSES, ['sliding'])
  t.equal(configError(t, { AUTH_TOKEN_CLASSES: 'refresh' }).variable, 'AUTH_TOKEN_CLASSES')
  t.equal(configError(t, { AUTH_TOKEN_CLASSES: 'access,access' }).variable, 'AUTH_TOKEN_CLASSES')
  t.equal(configError(t, { AUTH_STATELESS: 'yes' }).variable, 'AUTH_STATELESS')
  t.equal(configError(t, { SLIDING_TOKEN_LIFETIME: 'forever' }).variable, 'SLIDING_TOKEN_LIFETIME')
})

t.test('unrelated variables are ignored', async t => {
  const config = loadConfig({ PATH: '/usr/bin', HOME: '/root', SOMETHING_ELSE: 'x' })
  t.equal(config.PORT, 3000)
  t.notOk('PATH' in config)
  t.notOk('SOMETHING_ELSE' in config)
})

t.test('every setting can be set', async t => {
  const config = loadConfig({
    ACCESS_TOKEN_LIFETIME: '10m',
    REFRESH_TOKEN_LIFETIME: '7d',
    ROTATE_REFRESH_TOKENS: 'true',
    BLACKLIST_AFTER_ROTATION: '1',
    UPDATE_LAST_LOGIN: 'true',
    REFRESH_REUSE_INTERVAL: '10s',
    SLIDING_TOKEN_LIFETIME: '15m',
    SLIDING_TOKEN_REFRESH_LIFETIME: '2d',
    AUTH_TOKEN_CLASSES: 'access,sliding',
    AUTH_STATELESS: 'true',
    JWT_ALGORITHM: 'HS512',
    JWT_SIGNING_KEY: KEY_64,
    JWT_ACCEPT_SHORT_SIGNING_KEY: 'true',
    JWT_AUDIENCE: 'my-audience',
    JWT_ISSUER: 'my-issuer',
    JWT_LEEWAY: '30s',
    AUTH_HEADER_TYPES: ' Bearer , JWT ',
    USER_ID_CLAIM: 'uid',
    TOKEN_TYPE_CLAIM: 'kind',
    JTI_CLAIM: 'token_id',
    LOGIN_THROTTLE_USERNAME: '5/30s',
    LOGIN_THROTTLE_IP: 'off',
    LOGIN_QUEUE_SIZE: '100',
    LOGIN_QUEUE_PER_CLIENT: '8',
    REFRESH_THROTTLE: '10/1h',
    DATABASE_TIMEOUT: '3s',
    REDIS_TIMEOUT: '2',
    REQUEST_TIMEOUT: '1m',
    HEADERS_TIMEOUT: '20s',
    KEEP_ALIVE_TIMEOUT: '65s',
    USER_CACHE_TTL: '5m',
    USER_CACHE_SIZE: '500',
    PASSWORD_VALIDATORS: ' MinimumLengthValidator , NumericPasswordValidator ',
    PASSWORD_MIN_LENGTH: '12',
    REDIS_URL: 'redis://:pw@cache.example:6379/2',
    TRUST_PROXY: '2',
    DATABASE_URL: 'postgres://user:pw@db.example:5432/auth',
    DATA_DIR: '/var/lib/fsj',
    MIGRATE_ON_START: 'false',
    HOST: '0.0.0.0',
    PORT: '8080',
    LOG_LEVEL: 'debug',
    NODE_ENV: 'production'
  })
  t.strictSame(config, {
    ACCESS_TOKEN_LIFETIME: 600,
    REFRESH_TOKEN_LIFETIME: 604800,
    ROTATE_REFRESH_TOKENS: true,
    BLACKLIST_AFTER_ROTATION: true,
    UPDATE_LAST_LOGIN: true,
    REFRESH_REUSE_DETECTION: true,
    REFRESH_REUSE_INTERVAL: 10,
    SLIDING_TOKEN_LIFETIME: 900,
    SLIDING_TOKEN_REFRESH_LIFETIME: 172800,
    AUTH_TOKEN_CLASSES: ['access', 'sliding'],
    AUTH_STATELESS: true,
    JWT_ALGORITHM: 'HS512',
    JWT_SIGNING_KEY: KEY_64,
    JWT_VERIFYING_KEY: undefined,
    JWT_PREVIOUS_VERIFYING_KEYS: undefined,
    JWT_ACCEPT_SHORT_SIGNING_KEY: true,
    JWT_AUDIENCE: 'my-audience',
    JWT_ISSUER: 'my-issuer',
    JWT_LEEWAY: 30,
    AUTH_HEADER_TYPES: ['Bearer', 'JWT'],
    USER_ID_CLAIM: 'uid',
    TOKEN_TYPE_CLAIM: 'kind',
    JTI_CLAIM: 'token_id',
    LOGIN_THROTTLE_USERNAME: { failures: 5, seconds: 30 },
    LOGIN_THROTTLE_IP: null,
    LOGIN_QUEUE_SIZE: 100,
    LOGIN_QUEUE_PER_CLIENT: 8,
    REFRESH_THROTTLE: { failures: 10, seconds: 3600 },
    DATABASE_TIMEOUT: 3,
    REDIS_TIMEOUT: 2,
    REQUEST_TIMEOUT: 60,
    HEADERS_TIMEOUT: 20,
    KEEP_ALIVE_TIMEOUT: 65,
    USER_CACHE_TTL: 300,
    USER_CACHE_SIZE: 500,
    PASSWORD_VALIDATORS: ['MinimumLengthValidator', 'NumericPasswordValidator'],
    PASSWORD_MIN_LENGTH: 12,
    REDIS_URL: 'redis://:pw@cache.example:6379/2',
    TRUST_PROXY: 2,
    DATABASE_URL: 'postgres://user:pw@db.example:5432/auth',
    DATA_DIR: '/var/lib/fsj',
    MIGRATE_ON_START: false,
    HOST: '0.0.0.0',
    PORT: 8080,
    LOG_LEVEL: 'debug',
    PRODUCTION: true
  })
})

t.test('durations: 300, 300s, 5m, 1h, 1d for both lifetimes and JWT_LEEWAY', async t => {
  const forms: Array<[string, number]> = [
    ['300', 300], ['300s', 300], ['5m', 300], ['1h', 3600], ['1d', 86400],
    [' 5m ', 300], ['90s', 90], ['2h', 7200], ['30d', 2592000]
  ]
  for (const [text, seconds] of forms) {
    t.equal(loadConfig({ ACCESS_TOKEN_LIFETIME: text }).ACCESS_TOKEN_LIFETIME, seconds, `ACCESS_TOKEN_LIFETIME=${JSON.stringify(text)}`)
    t.equal(loadConfig({ REFRESH_TOKEN_LIFETIME: text }).REFRESH_TOKEN_LIFETIME, seconds, `REFRESH_TOKEN_LIFETIME=${JSON.stringify(text)}`)
    t.equal(loadConfig({ JWT_LEEWAY: text }).JWT_LEEWAY, seconds, `JWT_LEEWAY=${JSON.stringify(text)}`)
    t.equal(loadConfig({ REFRESH_REUSE_INTERVAL: text }).REFRESH_REUSE_INTERVAL, seconds, `REFRESH_REUSE_INTERVAL=${JSON.stringify(text)}`)
  }
  t.equal(loadConfig({ JWT_LEEWAY: '0' }).JWT_LEEWAY, 0, 'a leeway of 0 is allowed')
  t.equal(loadConfig({ JWT_LEEWAY: '0s' }).JWT_LEEWAY, 0)
})

t.test('parseDuration', async t => {
  t.equal(parseDuration('300'), 300)
  t.equal(parseDuration('300s'), 300)
  t.equal(parseDuration('5m'), 300)
  t.equal(parseDuration('1h'), 3600)
  t.equal(parseDuration('1d'), 86400)
  t.equal(parseDuration('\t1h\n'), 3600)
  for (const bad of ['', 's', '5 m', '5M', '1w', '-1', '1.5h', '5m30s', '0x10', '1e3', '1234567890']) {
    t.equal(parseDuration(bad), undefined, `parseDuration(${JSON.stringify(bad)})`)
  }
})

t.test('a bad duration is refused, naming the variable', async t => {
  for (const name of ['ACCESS_TOKEN_LIFETIME', 'REFRESH_TOKEN_LIFETIME']) {
    for (const bad of ['5x', '1w', '-5m', '1.5h', '5 m', 'forever', '5m30s', '1234567890']) {
      const err = configError(t, { [name]: bad })
      t.equal(err.message, `${name}: must be a duration such as 300, 300s, 5m, 1h or 1d (got ${JSON.stringify(bad)})`)
      t.equal(err.variable, name)
      t.equal(err.name, 'ConfigError')
    }
  }
  const leeway = configError(t, { JWT_LEEWAY: '-1' })
  t.equal(leeway.message, 'JWT_LEEWAY: must be a duration such as 0, 30s or 1m (got "-1")')
  t.equal(leeway.variable, 'JWT_LEEWAY')
  const interval = configError(t, { REFRESH_REUSE_INTERVAL: '10 s' })
  t.equal(interval.message, 'REFRESH_REUSE_INTERVAL: must be a duration such as 0, 10s or 1m (got "10 s")')
})

t.test('a lifetime of zero is refused', async t => {
  for (const name of ['ACCESS_TOKEN_LIFETIME', 'REFRESH_TOKEN_LIFETIME']) {
    for (const zero of ['0', '0s', '0m', '0d']) {
      const err = configError(t, { [name]: zero })
      t.equal(err.message, `${name}: Expected integer to be greater or equal to 1`)
      t.equal(err.variable, name)
    }
  }
})

t.test('flags: true, false, 1, 0; anything else is refused', async t => {
  // The settings a flag depends on, so that turning it on is a valid combination.
  const needs: Record<string, Record<string, string>> = {
    BLACKLIST_AFTER_ROTATION: { ROTATE_REFRESH_TOKENS: 'true' },
    REFRESH_REUSE_DETECTION: { ROTATE_REFRESH_TOKENS: 'true', BLACKLIST_AFTER_ROTATION: 'true' }
  }
  const flags = ['ROTATE_REFRESH_TOKENS', 'BLACKLIST_AFTER_ROTATION', 'UPDATE_LAST_LOGIN', 'REFRESH_REUSE_DETECTION', 'MIGRATE_ON_START'] as const
  for (const name of flags) {
    const base = needs[name] ?? {}
    t.equal(loadConfig({ ...base, [name]: 'true' })[name], true, `${name}=true`)
    t.equal(loadConfig({ ...base, [name]: '1' })[name], true, `${name}=1`)
    t.equal(loadConfig({ ...base, [name]: 'false' })[name], false, `${name}=false`)
    t.equal(loadConfig({ ...base, [name]: '0' })[name], false, `${name}=0`)
    for (const bad of ['yes', 'no', 'TRUE', 'False', 'on', '2', ' true']) {
      const err = configError(t, { [name]: bad })
      t.equal(err.message, `${name}: must be true, false, 1 or 0 (got ${JSON.stringify(bad)})`)
    }
  }
})

t.test('rotation flags: combinations that would do nothing are refused', async t => {
  const blacklist = configError(t, { BLACKLIST_AFTER_ROTATION: 'true' })
  t.equal(blacklist.message, 'BLACKLIST_AFTER_ROTATION: has no effect unless ROTATE_REFRESH_TOKENS is true; set both, or neither')
  const reuse = 'REFRESH_REUSE_DETECTION: needs ROTATE_REFRESH_TOKENS and BLACKLIST_AFTER_ROTATION to be true (a reused token is only seen once rotated tokens are blacklisted)'
  t.equal(configError(t, { REFRESH_REUSE_DETECTION: 'true' }).message, reuse)
  t.equal(configError(t, { REFRESH_REUSE_DETECTION: 'true', ROTATE_REFRESH_TOKENS: 'true' }).message, reuse)
  t.equal(loadConfig({ ROTATE_REFRESH_TOKENS: 'true' }).REFRESH_REUSE_DETECTION, false)
  t.equal(loadConfig({ ROTATE_REFRESH_TOKENS: 'true', BLACKLIST_AFTER_ROTATION: 'true' }).REFRESH_REUSE_DETECTION, true, 'on by default with both')
  t.equal(loadConfig({ ROTATE_REFRESH_TOKENS: 'true', BLACKLIST_AFTER_ROTATION: 'true', REFRESH_REUSE_DETECTION: 'false' }).REFRESH_REUSE_DETECTION, false)
})

t.test('JWT_ALGORITHM: every JOSE algorithm simplejwt offers, spelled exactly', async t => {
  for (const alg of ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const) {
    t.equal(loadConfig({ JWT_ALGORITHM: alg }).JWT_ALGORITHM, alg)
  }
  for (const bad of ['none', 'None', 'hs256', 'HS257', 'RS1', 'ES256K', 'Ed25519', 'eddsa']) {
    const err = configError(t, { JWT_ALGORITHM: bad })
    t.equal(err.message, `JWT_ALGORITHM: must be one of HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA (got ${JSON.stringify(bad)})`)
    t.equal(err.variable, 'JWT_ALGORITHM')
  }
})

t.test('PORT: a port number from 0 to 65535', async t => {
  t.equal(loadConfig({ PORT: '0' }).PORT, 0)
  t.equal(loadConfig({ PORT: '65535' }).PORT, 65535)
  for (const bad of ['abc', '-1', '80.5', '123456', ' 80', '0x50']) {
    const err = configError(t, { PORT: bad })
    t.equal(err.message, `PORT: must be a port number (got ${JSON.stringify(bad)})`)
  }
  const tooHigh = configError(t, { PORT: '65536' })
  t.equal(tooHigh.message, 'PORT: Expected integer to be less or equal to 65535')
  t.equal(tooHigh.variable, 'PORT')
})

t.test('DATABASE_URL: postgres://, postgresql:// or memory://', async t => {
  t.equal(loadConfig({ DATABASE_URL: 'postgres://u@h/db' }).DATABASE_URL, 'postgres://u@h/db')
  t.equal(loadConfig({ DATABASE_URL: 'postgresql://u@h:5433/db?sslmode=require' }).DATABASE_URL, 'postgresql://u@h:5433/db?sslmode=require')
  t.equal(loadConfig({ DATABASE_URL: 'memory://' }).DATABASE_URL, 'memory://')
  for (const bad of ['mysql://u@h/db', 'postgres://', 'memory://x', 'memory', '/var/lib/db', 'http://h/db']) {
    const err = configError(t, { DATABASE_URL: bad })
    t.equal(err.message, `DATABASE_URL: must be a postgres:// or postgresql:// URL, or memory:// (got ${JSON.stringify(bad)})`)
    t.equal(err.variable, 'DATABASE_URL')
  }
})

t.test('a bad DATABASE_URL does not echo its password', async t => {
  const err = configError(t, { DATABASE_URL: 'postgress://admin:hunter2@db.example/auth' })
  t.match(err.message, /^DATABASE_URL: /)
  t.notMatch(err.message, 'hunter2')
})

t.test('LOG_LEVEL: pino\'s levels', async t => {
  for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const) {
    t.equal(loadConfig({ LOG_LEVEL: level }).LOG_LEVEL, level)
  }
  for (const bad of ['verbose', 'INFO', 'warning', '10']) {
    const err = configError(t, { LOG_LEVEL: bad })
    t.equal(err.message, `LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got ${JSON.stringify(bad)})`)
  }
})

t.test('AUTH_HEADER_TYPES: a comma list of schemes', async t => {
  t.strictSame(loadConfig({ AUTH_HEADER_TYPES: 'JWT' }).AUTH_HEADER_TYPES, ['JWT'])
  t.strictSame(loadConfig({ AUTH_HEADER_TYPES: 'Bearer,JWT' }).AUTH_HEADER_TYPES, ['Bearer', 'JWT'])
  t.strictSame(loadConfig({ AUTH_HEADER_TYPES: 'Bearer , JWT,Token' }).AUTH_HEADER_TYPES, ['Bearer', 'JWT', 'Token'])
  for (const bad of ['Bearer JWT', 'Bearer,', ',Bearer', 'Bearer,,JWT', 'Bear"er', ' , ']) {
    const err = configError(t, { AUTH_HEADER_TYPES: bad })
    t.equal(err.message, `AUTH_HEADER_TYPES: must be a comma-separated list of authorization schemes such as Bearer,JWT (got ${JSON.stringify(bad)})`)
  }
})

t.test('claim names: identifiers, all different, not a registered claim', async t => {
  for (const name of ['USER_ID_CLAIM', 'TOKEN_TYPE_CLAIM', 'JTI_CLAIM']) {
    for (const bad of ['1abc', 'user-id', 'user id', 'x'.repeat(65)]) {
      const err = configError(t, { [name]: bad })
      t.equal(err.message, `${name}: must be a claim name (letters, digits, underscore) (got ${JSON.stringify(bad)})`)
    }
  }
  const duplicates = [
    { USER_ID_CLAIM: 'jti' },
    { USER_ID_CLAIM: 'token_type' },
    { TOKEN_TYPE_CLAIM: 'jti' },
    { USER_ID_CLAIM: 'same', TOKEN_TYPE_CLAIM: 'same' },
    { JTI_CLAIM: 'user_id' }
  ]
  for (const env of duplicates) {
    const err = configError(t, env)
    t.equal(err.message, 'USER_ID_CLAIM: USER_ID_CLAIM, TOKEN_TYPE_CLAIM and JTI_CLAIM must differ')
  }
  for (const name of ['USER_ID_CLAIM', 'TOKEN_TYPE_CLAIM', 'JTI_CLAIM']) {
    for (const registered of ['exp', 'iat', 'nbf', 'aud', 'iss', 'sub']) {
      const err = configError(t, { [name]: registered })
      t.equal(err.message, `${name}: must not be the registered claim ${JSON.stringify(registered)}`)
      t.equal(err.variable, name)
    }
  }
  t.equal(loadConfig({ USER_ID_CLAIM: 'x'.repeat(64) }).USER_ID_CLAIM, 'x'.repeat(64))
  t.equal(loadConfig({ USER_ID_CLAIM: '_id' }).USER_ID_CLAIM, '_id')
})

t.test('the first bad variable is the one reported', async t => {
  const err = configError(t, { ACCESS_TOKEN_LIFETIME: 'x', PORT: 'y' })
  t.equal(err.variable, 'ACCESS_TOKEN_LIFETIME')
})

t.test('the JWT_SIGNING_KEY value is never echoed in an error', async t => {
  const secret = 'sup3r-s3cret-value'
  const missingFile = join(tempDir, 'missing')
  const cases: Array<Record<string, string>> = [
    { JWT_SIGNING_KEY: secret, NODE_ENV: 'production' },
    { JWT_SIGNING_KEY: secret, JWT_ALGORITHM: 'HS512', NODE_ENV: 'production' },
    { JWT_SIGNING_KEY: secret, JWT_SIGNING_KEY_FILE: missingFile },
    { JWT_SIGNING_KEY: secret, ACCESS_TOKEN_LIFETIME: 'bad' },
    { JWT_SIGNING_KEY: secret, JWT_ALGORITHM: 'RS256' }
  ]
  for (const env of cases) {
    const err = configError(t, env)
    t.notMatch(err.message, secret, `not in ${JSON.stringify(err.message)}`)
    t.notMatch(String(err.stack), secret)
  }
  const fromFile = configError(t, { JWT_SIGNING_KEY_FILE: await tempFile(`${secret}\n`), NODE_ENV: 'production' })
  t.equal(fromFile.message, 'JWT_SIGNING_KEY: an HS256 key must be at least 32 bytes when NODE_ENV=production (got 18)')
  t.notMatch(fromFile.message, secret)
})

t.test('JWT_SIGNING_KEY_FILE: read, with one trailing newline stripped', async t => {
  t.equal(loadConfig({ JWT_SIGNING_KEY_FILE: await tempFile('from-a-file\n') }).JWT_SIGNING_KEY, 'from-a-file')
  t.equal(loadConfig({ JWT_SIGNING_KEY_FILE: await tempFile('crlf\r\n') }).JWT_SIGNING_KEY, 'crlf')
  t.equal(loadConfig({ JWT_SIGNING_KEY_FILE: await tempFile('no-newline') }).JWT_SIGNING_KEY, 'no-newline')
  t.equal(loadConfig({ JWT_SIGNING_KEY_FILE: await tempFile('two\n\n') }).JWT_SIGNING_KEY, 'two\n', 'only one newline goes')
  t.equal(loadConfig({ JWT_SIGNING_KEY_FILE: await tempFile(' spaced \n') }).JWT_SIGNING_KEY, ' spaced ', 'other whitespace stays')
  const production = loadConfig({ JWT_SIGNING_KEY_FILE: await tempFile(`${KEY_32}\n`), NODE_ENV: 'production' })
  t.equal(production.JWT_SIGNING_KEY, KEY_32, 'the stripped key is measured: 32 bytes is enough')
})

t.test('JWT_SIGNING_KEY and JWT_SIGNING_KEY_FILE together are refused', async t => {
  const err = configError(t, { JWT_SIGNING_KEY: 'inline', JWT_SIGNING_KEY_FILE: await tempFile('file') })
  t.equal(err.message, 'JWT_SIGNING_KEY_FILE: set both JWT_SIGNING_KEY and JWT_SIGNING_KEY_FILE; choose one')
  t.equal(err.variable, 'JWT_SIGNING_KEY_FILE')
})

t.test('an unreadable JWT_SIGNING_KEY_FILE is refused, naming it', async t => {
  const missing = join(tempDir, 'does-not-exist')
  const err = configError(t, { JWT_SIGNING_KEY_FILE: missing })
  t.equal(err.message, `JWT_SIGNING_KEY_FILE: cannot read ${JSON.stringify(missing)} (ENOENT)`)
  t.equal(err.variable, 'JWT_SIGNING_KEY_FILE')

  const dir = configError(t, { JWT_SIGNING_KEY_FILE: tempDir })
  t.equal(dir.message, `JWT_SIGNING_KEY_FILE: cannot read ${JSON.stringify(tempDir)} (EISDIR)`)

  if (process.getuid?.() !== 0) {
    const locked = await tempFile('secret')
    await chmod(locked, 0o000)
    const denied = configError(t, { JWT_SIGNING_KEY_FILE: locked })
    t.equal(denied.message, `JWT_SIGNING_KEY_FILE: cannot read ${JSON.stringify(locked)} (EACCES)`)
  }
})

t.test('an empty JWT_SIGNING_KEY_FILE is refused rather than taken for "no key"', async t => {
  for (const content of ['', '\n']) {
    const file = await tempFile(content)
    const err = configError(t, { JWT_SIGNING_KEY_FILE: file })
    t.match(err.message, /^JWT_SIGNING_KEY_FILE: /)
    t.equal(err.variable, 'JWT_SIGNING_KEY_FILE')
  }
})

t.test('a PEM with literal \\n gets real newlines', async t => {
  const real = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString().trimEnd()
  const pem = real.replaceAll('\n', '\\n')
  t.equal(loadConfig({ JWT_ALGORITHM: 'EdDSA', JWT_SIGNING_KEY: pem }).JWT_SIGNING_KEY, real)
  t.equal(loadConfig({ JWT_ALGORITHM: 'EdDSA', JWT_SIGNING_KEY_FILE: await tempFile(`${pem}\n`) }).JWT_SIGNING_KEY, real, 'from a file too')
  t.equal(loadConfig({ JWT_SIGNING_KEY: 'not\\na\\npem' }).JWT_SIGNING_KEY, 'not\\na\\npem', 'only PEM values are rewritten')
})

t.test('empty strings count as unset', async t => {
  const empty: Record<string, string> = { JWT_SIGNING_KEY_FILE: '' }
  for (const name of Object.keys(EnvSchema.properties)) empty[name] = ''
  t.ok(Object.keys(empty).length > 20)
  t.strictSame(loadConfig(empty), loadConfig({}))
  t.equal(loadConfig({ JWT_SIGNING_KEY: '', JWT_SIGNING_KEY_FILE: await tempFile('the-file') }).JWT_SIGNING_KEY, 'the-file',
    'an empty JWT_SIGNING_KEY does not conflict with JWT_SIGNING_KEY_FILE')
  t.equal(loadConfig({ JWT_SIGNING_KEY: 'inline', JWT_SIGNING_KEY_FILE: '' }).JWT_SIGNING_KEY, 'inline')
})

t.test('NODE_ENV=production: missing or weak keys are refused', async t => {
  const missing = configError(t, { NODE_ENV: 'production' })
  t.equal(missing.message, 'JWT_SIGNING_KEY: is required when NODE_ENV=production (or set JWT_SIGNING_KEY_FILE)')
  t.equal(missing.variable, 'JWT_SIGNING_KEY')

  const empty = configError(t, { NODE_ENV: 'production', JWT_SIGNING_KEY: '' })
  t.equal(empty.message, 'JWT_SIGNING_KEY: is required when NODE_ENV=production (or set JWT_SIGNING_KEY_FILE)')

  const short256 = configError(t, { NODE_ENV: 'production', JWT_SIGNING_KEY: 'k'.repeat(31) })
  t.equal(short256.message, 'JWT_SIGNING_KEY: an HS256 key must be at least 32 bytes when NODE_ENV=production (got 31)')
  const short384 = configError(t, { NODE_ENV: 'production', JWT_ALGORITHM: 'HS384', JWT_SIGNING_KEY: 'k'.repeat(47) })
  t.equal(short384.message, 'JWT_SIGNING_KEY: an HS384 key must be at least 48 bytes when NODE_ENV=production (got 47)')
  const short512 = configError(t, { NODE_ENV: 'production', JWT_ALGORITHM: 'HS512', JWT_SIGNING_KEY: 'k'.repeat(63) })
  t.equal(short512.message, 'JWT_SIGNING_KEY: an HS512 key must be at least 64 bytes when NODE_ENV=production (got 63)')
  const enoughFor256 = configError(t, { NODE_ENV: 'production', JWT_ALGORITHM: 'HS512', JWT_SIGNING_KEY: KEY_32 })
  t.equal(enoughFor256.message, 'JWT_SIGNING_KEY: an HS512 key must be at least 64 bytes when NODE_ENV=production (got 32)')
  const bytesNotChars = configError(t, { NODE_ENV: 'production', JWT_SIGNING_KEY: 'é'.repeat(15) })
  t.equal(bytesNotChars.message, 'JWT_SIGNING_KEY: an HS256 key must be at least 32 bytes when NODE_ENV=production (got 30)', 'measured in UTF-8 bytes')

  t.equal(loadConfig({ NODE_ENV: 'production', JWT_SIGNING_KEY: KEY_32 }).JWT_SIGNING_KEY, KEY_32)
  t.equal(loadConfig({ NODE_ENV: 'production', JWT_ALGORITHM: 'HS384', JWT_SIGNING_KEY: 'k'.repeat(48) }).JWT_ALGORITHM, 'HS384')
  t.equal(loadConfig({ NODE_ENV: 'production', JWT_ALGORITHM: 'HS512', JWT_SIGNING_KEY: KEY_64 }).JWT_SIGNING_KEY, KEY_64)
  t.equal(loadConfig({ NODE_ENV: 'production', JWT_SIGNING_KEY: 'é'.repeat(16) }).PRODUCTION, true, '16 two-byte characters are 32 bytes')
})

t.test('JWT_ACCEPT_SHORT_SIGNING_KEY: production accepts a short Django key for the cutover, and checks everything else', async t => {
  const accept = { NODE_ENV: 'production', JWT_ACCEPT_SHORT_SIGNING_KEY: 'true' }
  const django = 'django-insecure-short-secret-key'.slice(0, 20)
  const config = loadConfig({ ...accept, JWT_SIGNING_KEY: django })
  t.same([config.PRODUCTION, config.JWT_SIGNING_KEY, config.JWT_ACCEPT_SHORT_SIGNING_KEY], [true, django, true])
  t.equal(loadConfig({ ...accept, JWT_ALGORITHM: 'HS512', JWT_SIGNING_KEY: KEY_32 }).JWT_ALGORITHM, 'HS512')
  const retired = JSON.stringify({ keys: [{ kty: 'oct', k: Buffer.from('old-short').toString('base64url'), alg: 'HS256' }] })
  t.equal(loadConfig({ ...accept, JWT_SIGNING_KEY: KEY_64, JWT_PREVIOUS_VERIFYING_KEYS: retired }).JWT_PREVIOUS_VERIFYING_KEYS, retired,
    'the short Django key may be kept as a retired key after the rotation')
  t.match(configError(t, { NODE_ENV: 'production', JWT_SIGNING_KEY: KEY_64, JWT_PREVIOUS_VERIFYING_KEYS: retired }).message,
    /^JWT_PREVIOUS_VERIFYING_KEYS: key 0: an HS256 secret must be at least 32 bytes/, 'without the setting it is refused')

  t.equal(configError(t, accept).message, 'JWT_SIGNING_KEY: is required when NODE_ENV=production (or set JWT_SIGNING_KEY_FILE)', 'a key is still required')
  t.equal(configError(t, { ...accept, JWT_SIGNING_KEY: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() }).message,
    'JWT_SIGNING_KEY: is a PEM key, but HS256 needs a shared secret; set JWT_ALGORITHM to the key\'s algorithm', 'the key must still fit the algorithm')
  t.equal(configError(t, { ...accept, JWT_ACCEPT_SHORT_SIGNING_KEY: 'yes', JWT_SIGNING_KEY: django }).message,
    'JWT_ACCEPT_SHORT_SIGNING_KEY: must be true, false, 1 or 0 (got "yes")')
  t.equal(configError(t, { NODE_ENV: 'production', JWT_ACCEPT_SHORT_SIGNING_KEY: 'false', JWT_SIGNING_KEY: django }).message,
    'JWT_SIGNING_KEY: an HS256 key must be at least 32 bytes when NODE_ENV=production (got 20)', 'false is the default: refused')
})

t.test('loadConfig(env, { signs: false }): commands that sign nothing need no key, even in production', async t => {
  const config = loadConfig({ NODE_ENV: 'production' }, { signs: false })
  t.same([config.PRODUCTION, config.JWT_SIGNING_KEY], [true, undefined])
  t.equal(loadConfig({ NODE_ENV: 'production', JWT_SIGNING_KEY: 'short' }, { signs: false }).JWT_SIGNING_KEY, 'short', 'nor check it')
  t.equal(configError(t, { NODE_ENV: 'production' }).variable, 'JWT_SIGNING_KEY', 'the server still requires it')
  t.equal(configError(t, { NODE_ENV: 'production', ACCESS_TOKEN_LIFETIME: '0' }).variable, 'ACCESS_TOKEN_LIFETIME')
  t.throws(() => loadConfig({ NODE_ENV: 'production', ROTATE_REFRESH_TOKENS: 'maybe' }, { signs: false }), { name: 'ConfigError', message: /^ROTATE_REFRESH_TOKENS: / }, 'every other setting is still checked')
  t.throws(() => loadConfig({ NODE_ENV: 'production', BLACKLIST_AFTER_ROTATION: 'true' }, { signs: false }), { name: 'ConfigError', message: /^BLACKLIST_AFTER_ROTATION: / })
})

t.test('outside production a short or missing key is allowed', async t => {
  t.equal(loadConfig({ JWT_SIGNING_KEY: 'short' }).JWT_SIGNING_KEY, 'short')
  t.equal(loadConfig({ NODE_ENV: 'development' }).JWT_SIGNING_KEY, undefined)
  t.equal(loadConfig({ NODE_ENV: 'test' }).PRODUCTION, false)
  t.equal(loadConfig({ NODE_ENV: 'Production' }).PRODUCTION, false, 'only the exact value production')
})

t.test('checkConfig on configs assembled in code', async t => {
  const base = loadConfig({ JWT_SIGNING_KEY: KEY_64 })
  t.doesNotThrow(() => checkConfig(base))
  t.doesNotThrow(() => checkConfig({ ...base, PRODUCTION: true }))

  const cases: Array<[Partial<Config> | Record<string, unknown>, string, string]> = [
    [{ ACCESS_TOKEN_LIFETIME: 0 }, 'ACCESS_TOKEN_LIFETIME', 'ACCESS_TOKEN_LIFETIME: Expected integer to be greater or equal to 1'],
    [{ REFRESH_TOKEN_LIFETIME: 1.5 }, 'REFRESH_TOKEN_LIFETIME', 'REFRESH_TOKEN_LIFETIME: Expected integer'],
    [{ JWT_LEEWAY: -1 }, 'JWT_LEEWAY', 'JWT_LEEWAY: Expected integer to be greater or equal to 0'],
    [{ PORT: 70000 }, 'PORT', 'PORT: Expected integer to be less or equal to 65535'],
    [{ JWT_ALGORITHM: 'none' }, 'JWT_ALGORITHM', 'JWT_ALGORITHM: Expected union value'],
    [{ AUTH_HEADER_TYPES: [] }, 'AUTH_HEADER_TYPES', 'AUTH_HEADER_TYPES: Expected array length to be greater or equal to 1'],
    [{ JWT_SIGNING_KEY: '' }, 'JWT_SIGNING_KEY', 'JWT_SIGNING_KEY: Expected string length greater or equal to 1'],
    [{ HOST: undefined }, 'HOST', 'HOST: Expected string'],
    [{ ROTATE_REFRESH_TOKENS: 'true' }, 'ROTATE_REFRESH_TOKENS', 'ROTATE_REFRESH_TOKENS: Expected boolean'],
    [{ JTI_CLAIM: 'user_id' }, 'USER_ID_CLAIM', 'USER_ID_CLAIM: USER_ID_CLAIM, TOKEN_TYPE_CLAIM and JTI_CLAIM must differ'],
    [{ USER_ID_CLAIM: 'sub' }, 'USER_ID_CLAIM', 'USER_ID_CLAIM: must not be the registered claim "sub"'],
    [{ JTI_CLAIM: 'iat' }, 'JTI_CLAIM', 'JTI_CLAIM: must not be the registered claim "iat"'],
    [{ PRODUCTION: true, JWT_SIGNING_KEY: undefined }, 'JWT_SIGNING_KEY', 'JWT_SIGNING_KEY: is required when NODE_ENV=production (or set JWT_SIGNING_KEY_FILE)'],
    [{ PRODUCTION: true, JWT_SIGNING_KEY: 'k'.repeat(31) }, 'JWT_SIGNING_KEY', 'JWT_SIGNING_KEY: an HS256 key must be at least 32 bytes when NODE_ENV=production (got 31)'],
    [{ PRODUCTION: true, JWT_ALGORITHM: 'HS512', JWT_SIGNING_KEY: 'k'.repeat(63) }, 'JWT_SIGNING_KEY', 'JWT_SIGNING_KEY: an HS512 key must be at least 64 bytes when NODE_ENV=production (got 63)']
  ]
  for (const [overrides, variable, message] of cases) {
    const err = checkError(t, { ...base, ...overrides } as Config)
    t.equal(err.variable, variable, JSON.stringify(overrides))
    t.equal(err.message, message)
  }
})

t.test('login throttling, Redis and proxies: rates, off, and bad values', async t => {
  t.same(loadConfig({ LOGIN_THROTTLE_USERNAME: '3/1h' }).LOGIN_THROTTLE_USERNAME, { failures: 3, seconds: 3600 })
  t.equal(loadConfig({ LOGIN_THROTTLE_IP: 'off' }).LOGIN_THROTTLE_IP, null)
  t.equal(loadConfig({ TRUST_PROXY: 'true' }).TRUST_PROXY, true)
  for (const bad of ['10', '0/1m', '10/0', 'ten/1m', '10/1w', 'on']) {
    t.equal(configError(t, { LOGIN_THROTTLE_USERNAME: bad }).variable, 'LOGIN_THROTTLE_USERNAME', bad)
  }
  t.equal(configError(t, { TRUST_PROXY: 'yes' }).variable, 'TRUST_PROXY')
  const redis = configError(t, { REDIS_URL: 'http://:hunter2@cache:6379' })
  t.equal(redis.variable, 'REDIS_URL')
  t.notMatch(redis.message, 'hunter2', 'the password is hidden')
})

t.test('bounds (issue 13): timeouts of at least a second, queue sizes of at least one', async t => {
  for (const name of ['DATABASE_TIMEOUT', 'REDIS_TIMEOUT', 'REQUEST_TIMEOUT', 'HEADERS_TIMEOUT', 'KEEP_ALIVE_TIMEOUT']) {
    t.equal(configError(t, { [name]: '0' }).variable, name, `${name}=0 is refused`)
    t.equal(configError(t, { [name]: 'soon' }).variable, name, `${name}=soon is refused`)
  }
  for (const name of ['LOGIN_QUEUE_SIZE', 'LOGIN_QUEUE_PER_CLIENT']) {
    t.equal(configError(t, { [name]: '0' }).variable, name, `${name}=0 is refused`)
  }
  t.equal(loadConfig({ REFRESH_THROTTLE: 'off' }).REFRESH_THROTTLE, null)
  t.equal(configError(t, { REFRESH_THROTTLE: '0/1m' }).variable, 'REFRESH_THROTTLE')
})

t.test('plugin options: typed values as they are, text as the environment writes it, one table for both', async t => {
  const config = configFromOptions({
    ROTATE_REFRESH_TOKENS: 'true',
    BLACKLIST_AFTER_ROTATION: true,
    REFRESH_TOKEN_LIFETIME: '2d',
    ACCESS_TOKEN_LIFETIME: 60,
    USER_CACHE_SIZE: '50',
    AUTH_HEADER_TYPES: 'Bearer, JWT',
    REFRESH_THROTTLE: 'off',
    JWT_SIGNING_KEY: undefined
  })
  t.match(config, { ROTATE_REFRESH_TOKENS: true, BLACKLIST_AFTER_ROTATION: true, REFRESH_REUSE_DETECTION: true, REFRESH_TOKEN_LIFETIME: 172800, ACCESS_TOKEN_LIFETIME: 60, USER_CACHE_SIZE: 50, AUTH_HEADER_TYPES: ['Bearer', 'JWT'], REFRESH_THROTTLE: null })
  const typed: Array<[Record<string, unknown>, string]> = [
    [{ ROTATE_REFRESH_TOKENS: 'yes' }, 'ROTATE_REFRESH_TOKENS: must be true, false, 1 or 0 (got "yes")'],
    [{ ROTATE_REFRESH_TOKENS: 1 }, 'ROTATE_REFRESH_TOKENS: must be true, false, 1 or 0 (got 1)'],
    [{ ACCESS_TOKEN_LIFETIME: 1.5 }, 'ACCESS_TOKEN_LIFETIME: must be a duration such as 300, 300s, 5m, 1h or 1d (got 1.5)'],
    [{ AUTH_HEADER_TYPES: ['Bear er'] }, 'AUTH_HEADER_TYPES: must be a comma-separated list of authorization schemes such as Bearer,JWT (got ["Bear er"])'],
    [{ AUTH_TOKEN_CLASSES: ['refresh'] }, 'AUTH_TOKEN_CLASSES: must be access, sliding, or both comma-separated (access,sliding) (got ["refresh"])'],
    [{ LOGIN_THROTTLE_IP: { failures: 0, seconds: 60 } }, 'LOGIN_THROTTLE_IP: must be failures per window such as 100/1m, or off (got {"failures":0,"seconds":60})'],
    [{ JWT_SIGNING_KEY: 42 }, 'JWT_SIGNING_KEY: must be a non-empty key'],
    [{ JWT_SIGNING_KEY_FILE: 42 }, 'JWT_SIGNING_KEY_FILE: must be a file path (got 42)'],
    [{ HOST: '0.0.0.0' }, 'HOST: is a setting of the standalone server, not of the plugin'],
    [{ REQUEST_TIMEOUT: '1m' }, 'REQUEST_TIMEOUT: is a setting of the standalone server, not of the plugin']
  ]
  for (const [options, message] of typed) {
    t.throws(() => configFromOptions(options), { name: 'ConfigError', message }, JSON.stringify(options))
  }
  t.equal(configFromOptions({}, { NODE_ENV: 'development' }).PRODUCTION, false)
  t.throws(() => configFromOptions({}, { NODE_ENV: 'production' }), { message: /^JWT_SIGNING_KEY: is required when NODE_ENV=production/ }, 'the process\'s NODE_ENV by default')
  t.equal(configFromOptions({ NODE_ENV: 'development' }, { NODE_ENV: 'production' }).PRODUCTION, false, 'the option wins')
  t.strictSame(configFromOptions({}), loadConfig({}), 'the same defaults as the environment')
})

t.test('password rules (issue 15): PASSWORD_VALIDATORS by Django\'s class names, or off; PASSWORD_MIN_LENGTH', async t => {
  t.same(loadConfig({ PASSWORD_VALIDATORS: 'off' }).PASSWORD_VALIDATORS, [])
  t.same(loadConfig({ PASSWORD_VALIDATORS: 'CommonPasswordValidator' }).PASSWORD_VALIDATORS, ['CommonPasswordValidator'])
  t.same(loadConfig({ PASSWORD_VALIDATORS: '' }).PASSWORD_VALIDATORS.length, 4, 'empty is unset: Django\'s four')
  t.same(configFromOptions({ PASSWORD_VALIDATORS: [] }).PASSWORD_VALIDATORS, [], 'typed, in library mode')
  t.equal(configFromOptions({ PASSWORD_MIN_LENGTH: '10' }).PASSWORD_MIN_LENGTH, 10)
  for (const bad of ['MinimumLength', 'django.contrib.auth.password_validation.MinimumLengthValidator', 'off,NumericPasswordValidator', 'none']) {
    const err = configError(t, { PASSWORD_VALIDATORS: bad })
    t.equal(err.variable, 'PASSWORD_VALIDATORS', bad)
    t.match(err.message, /must be off, or a comma-separated list of UserAttributeSimilarityValidator, MinimumLengthValidator, CommonPasswordValidator, NumericPasswordValidator/)
  }
  t.equal(configError(t, { PASSWORD_VALIDATORS: 'NumericPasswordValidator,NumericPasswordValidator' }).variable, 'PASSWORD_VALIDATORS', 'a repeated name')
  for (const bad of ['0', '-1', 'eight']) t.equal(configError(t, { PASSWORD_MIN_LENGTH: bad }).variable, 'PASSWORD_MIN_LENGTH', bad)
})
