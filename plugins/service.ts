// fastify.simplejwt: the service, assembled once from the layers (the one plugin allowed to import src/db).
import { EventEmitter } from 'node:events'
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { AuthenticateHook } from './authenticate.js'
import { keySettings, passwordRules, type Config } from '../src/domain/settings.js'
import { resolveDatabase, type Database, type DatabaseOption, type Db } from '../src/db/client.js'
import { HMAC_KEY_BYTES, isHmac, loadKeySet, type KeySet } from '../src/domain/keys.js'
import { createAccounts, type Accounts } from '../src/domain/accounts.js'
import { createTokenSerializers, type TokenSerializers } from '../src/domain/serializers.js'
import { createTokenService, type TokenClaimsHook, type TokenService } from '../src/domain/tokens.js'
import { createUsersRepository, type UsersRepository } from '../src/db/users.js'
import { createUserCache, followNotifications, USER_CHANGED_CHANNEL, type UserCache } from '../src/db/caches.js'
import { createBlacklistRepository, TOKEN_BLACKLISTED_CHANNEL, type BlacklistRepository } from '../src/db/tokens.js'
import { connectRedis, createLoginThrottle, createRefreshThrottle, type LoginThrottle, type RefreshThrottle } from '../src/db/login-attempts.js'
import { createLoginQueue, type LoginQueue } from '../src/domain/login-queue.js'
import { storedSigningKey } from '../src/db/secrets.js'
import { registerSigner } from './jwt.js'

/**
 * Everything the service is made of, under one decorator (`fastify.simplejwt`) so that it never
 * collides with an application's own `config`, `db` or `users`. Built once by the plugin below; an
 * application may use it once fastify-simplejwt is registered.
 */
export interface SimpleJwt {
  /** The validated settings (src/domain/settings.ts). */
  config: Config
  /** The clock every token decision uses, in milliseconds since the epoch. */
  now: () => number
  /** The opened database: driver, migrations, listen, close. */
  database: Database
  /** The Drizzle handle, the same type on PGlite and on PostgreSQL. */
  db: Db
  /** The signing key and every verifying key, current and retired (src/domain/keys.ts). */
  keys: KeySet
  /** Mints and checks tokens with the configured algorithm, keys and clock (src/domain/tokens.ts). */
  tokens: TokenService
  /** The users table (Django's auth_user). */
  users: UsersRepository
  /** Emits `change` with a user id whenever this process changes a user. */
  userChanges: EventEmitter<{ change: [id: number] }>
  /** The users that authentication needs, kept in memory and dropped the moment they change. */
  userCache: UserCache
  /** Outstanding and blacklisted refresh tokens, revoked families (simplejwt's token_blacklist). */
  blacklist: BlacklistRepository
  /** Creating users, setting passwords, (de)activating: one rule for the admin API and the CLI. */
  accounts: Accounts
  /** The token views' rules: obtain, refresh (rotation, reuse), verify, blacklist, and the sliding three. */
  serializers: TokenSerializers
  /** Counts failed logins per username and per client IP (spec D10). */
  loginThrottle: LoginThrottle
  /** Bounds the password checks running or waiting, per client address and in all (src/domain/login-queue.ts). */
  loginQueue: LoginQueue
  /** Counts refreshes (and sliding refreshes) per user (REFRESH_THROTTLE). */
  refreshThrottle: RefreshThrottle
  /**
   * Authenticates a request as JWTAuthentication does and sets `request.user`, or throws DRF's 401
   * (an ApiError). `fastify.authenticate` is the same check as a hook that answers the 401 itself.
   */
  verifyRequest: (request: FastifyRequest) => Promise<void>
  /**
   * An `onRequest` (or `preHandler`) hook for protected routes: reads `Authorization`, validates the
   * token against AUTH_TOKEN_CLASSES and loads its active user (`authenticatedUser(request)`, and
   * `request.user`); under AUTH_STATELESS, builds it from the claims alone. Answers DRF's 401 itself
   * otherwise, with `WWW-Authenticate`, whatever the application's error handler does
   * (JWTAuthentication). Also decorated as `fastify.authenticate` (option `authenticateDecorator`).
   */
  authenticate: AuthenticateHook
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The service: settings, database, tokens, users, blacklist (plugins/service.ts). */
    simplejwt: SimpleJwt
  }
}

export interface ServiceOptions {
  /** A connection string, or a database handle of the application's, which it closes (src/db/client.ts). */
  database?: DatabaseOption
  /** Extra claims for new tokens (simplejwt's get_token override); reserved claims are dropped with a warning. */
  tokenClaims?: TokenClaimsHook | undefined
  /**
   * When the start must be over (ms since the epoch): Fastify's pluginTimeout, counted from the
   * registration. Past it, the start fails naming the package and the step it was on (avvio would
   * only name a plugin); what opens later is closed.
   */
  deadline?: { at: number, pluginTimeout: number } | undefined
}

/** The service's settings and clock; `simplejwt-service` adds the rest. */
export function createService (config: Config, now: () => number = Date.now): SimpleJwt {
  return { config, now } as SimpleJwt
}

/**
 * Builds `fastify.simplejwt` once, in one place, in dependency order: database → signing key → keys
 * → signer → token backend → stores → caches → login attempts → the rules over them. What it opens
 * it closes in reverse, when the application closes or when a later step fails to start.
 */
export default fp<ServiceOptions>(async function servicePlugin (fastify: FastifyInstance, options: ServiceOptions) {
  const service = fastify.simplejwt
  const { config, now } = service
  const closers: Array<{ name: string, close: () => Promise<void> | void }> = []
  async function closeAll (): Promise<void> {
    for (const { name, close } of closers.splice(0).reverse()) {
      try {
        await close()
      } catch (err) {
        fastify.log.warn({ err, part: name }, 'a part of the service failed to close')
      }
    }
  }
  fastify.addHook('onClose', closeAll)

  let step = openingStep(options.database, config)
  async function build (): Promise<void> {
    // The database; a handle of the application's is the application's to close (close() knows).
    const database = await resolveDatabase(options.database, config.DATABASE_URL, {
      dataDir: config.DATA_DIR,
      timeoutMs: config.DATABASE_TIMEOUT * 1000,
      onWarning: message => fastify.log.warn({ dataDir: config.DATA_DIR }, message)
    })
    closers.push({ name: 'database', close: () => database.close() })
    step = 'applying the migrations'
    if (config.MIGRATE_ON_START) await database.migrate()
    const db = database.db

    step = 'reading the signing key'
    // The signing key, the verifying keys, the signer and the token backend.
    const alg = config.JWT_ALGORITHM
    let signingKey = config.JWT_SIGNING_KEY
    if (signingKey === undefined) {
      signingKey = await storedSigningKey(db, alg)
      fastify.log.warn('JWT_SIGNING_KEY is not set: using a key generated and stored in the database; set one in production')
    } else if (isHmac(alg) && Buffer.byteLength(signingKey) < HMAC_KEY_BYTES[alg]) {
      fastify.log.warn(`JWT_SIGNING_KEY is shorter than ${HMAC_KEY_BYTES[alg]} bytes, too weak for ${alg}; ${config.JWT_ACCEPT_SHORT_SIGNING_KEY
        ? 'accepted for the cutover from Django (JWT_ACCEPT_SHORT_SIGNING_KEY): rotate to a long key after it, keeping this one in JWT_PREVIOUS_VERIFYING_KEYS until its tokens expire (docs/keys.md)'
        : 'production refuses it'}`)
    }
    const keys = loadKeySet(keySettings(config, signingKey))
    const { sign, verify } = await registerSigner(fastify, keys, alg)
    const tokens = createTokenService({
      settings: config,
      sign,
      verify,
      now,
      tokenClaims: options.tokenClaims,
      onReservedClaims: (names) => fastify.log.warn({ event: 'reserved_claims_ignored', claims: names },
        'tokenClaims returned reserved claims; they were ignored'),
      onClaimsTimeout: (ms) => fastify.log.warn({ event: 'token_claims_timeout', ms }, 'tokenClaims did not answer in time; the login was answered 503')
    })

    // The stores: users (announcing this process's changes at once) and tokens.
    const userChanges = new EventEmitter<{ change: [id: number] }>()
    const users = createUsersRepository(db, (id) => userChanges.emit('change', id))
    const blacklist = createBlacklistRepository(db, (id) => userChanges.emit('change', id), {
      ttlMs: config.USER_CACHE_TTL * 1000,
      maxEntries: config.USER_CACHE_SIZE,
      now: Date.now
    })

    // The caches, kept in step with every instance through LISTEN/NOTIFY; while that connection is
    // down, they read through to the database (src/db/caches.ts).
    const userCache = createUserCache({
      load: (id) => users.findById(id),
      ttlMs: config.USER_CACHE_TTL * 1000,
      maxEntries: config.USER_CACHE_SIZE,
      now: Date.now
    })
    step = 'subscribing to the database\'s notifications'
    if (config.USER_CACHE_TTL > 0) {
      userChanges.on('change', (id) => userCache.invalidate(id))
      const unlisten = await followNotifications(database, USER_CHANGED_CHANNEL, userCache, (payload) => {
        const id = Number(payload)
        return Number.isSafeInteger(id) ? id : undefined
      }, {
        // One line per transition of the instance's subscription (the token statuses follow the same one).
        down: (reason) => fastify.log.warn({ reason: (reason as Error | undefined)?.message }, 'LISTEN connection lost: caches read through to the database until it is back'),
        up: () => fastify.log.info('LISTEN connection re-established: caches in use again')
      })
      closers.push({ name: 'user cache', close: unlisten })
    }
    if (blacklist.statusCache !== undefined) {
      const unlisten = await followNotifications(database, TOKEN_BLACKLISTED_CHANNEL, blacklist.statusCache, (jti) => jti)
      closers.push({ name: 'token status cache', close: unlisten })
    }

    // The login attempts: counted in Redis when there is one (shared by every instance), else in-process.
    step = 'connecting to Redis'
    const redis = config.REDIS_URL === undefined ? undefined : connectRedis(config.REDIS_URL, config.REDIS_TIMEOUT * 1000, fastify.log)
    if (redis !== undefined) {
      closers.push({ name: 'redis', close: () => { redis.disconnect() } })
      await redisReady(redis, config.REDIS_TIMEOUT * 1000)
    }
    const loginThrottle = createLoginThrottle({ username: config.LOGIN_THROTTLE_USERNAME, ip: config.LOGIN_THROTTLE_IP, redis })
    const loginQueue = createLoginQueue({ size: config.LOGIN_QUEUE_SIZE, perClient: config.LOGIN_QUEUE_PER_CLIENT })
    const refreshThrottle = createRefreshThrottle({ rate: config.REFRESH_THROTTLE, now, redis })

    Object.assign(service, {
      database,
      db,
      keys,
      tokens,
      users,
      userChanges,
      userCache,
      blacklist,
      loginThrottle,
      loginQueue,
      refreshThrottle,
      accounts: createAccounts({ users, tokens: blacklist, now, passwordRules: passwordRules(config) }),
      serializers: createTokenSerializers({ config, now, tokens, users, userCache, blacklist, loginThrottle, loginQueue, refreshThrottle })
    } satisfies Omit<SimpleJwt, 'config' | 'now' | 'verifyRequest' | 'authenticate'>)
  }

  const building = build()
  try {
    await (options.deadline === undefined ? building : withinDeadline(building, options.deadline, () => step))
  } catch (err) {
    // Whatever the start had opened is closed; after a missed deadline, also what it opens still.
    const closing = building.then(closeAll, closeAll)
    if (!(err instanceof StartTimeout)) await closing
    throw err
  }
}, { name: 'simplejwt-service' })

/** The first step of a start, in the words of a start-up error: which database is being opened. */
function openingStep (option: DatabaseOption | undefined, config: Config): string {
  const url = option ?? config.DATABASE_URL
  if (url === undefined) return `opening the embedded PGlite database under DATA_DIR (${config.DATA_DIR}: a large one takes a while to load)`
  if (url === 'memory://') return 'opening an embedded PGlite database in memory'
  if (typeof url !== 'string') return 'opening the application\'s database handle and applying the migrations'
  let where = 'the configured address'
  try {
    where = new URL(url).host
  } catch {}
  return `connecting to PostgreSQL at ${where} (is it reachable?)`
}

/** The start outlasted Fastify's pluginTimeout. */
export class StartTimeout extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'StartTimeout'
  }
}

/** `building`, or a clear error once the deadline has passed. */
async function withinDeadline (building: Promise<void>, deadline: { at: number, pluginTimeout: number }, step: () => string): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new StartTimeout(`fastify-simplejwt did not start within Fastify's pluginTimeout (${deadline.pluginTimeout} ms): it was still ${step()}. ` +
      'Raise the timeout (Fastify({ pluginTimeout: 60_000 })) if that is expected.')), Math.max(0, deadline.at - Date.now()))
  })
  try {
    await Promise.race([building, late])
  } finally {
    clearTimeout(timer)
  }
}

/** Start shared when Redis is there: waits until it is ready or failed, at most `timeoutMs` (counting starts in-process otherwise). */
function redisReady (redis: EventEmitter, timeoutMs: number): Promise<void> {
  return new Promise<void>(resolve => {
    const done = () => {
      clearTimeout(timer)
      redis.off('ready', done)
      redis.off('error', done)
      resolve()
    }
    const timer = setTimeout(done, timeoutMs)
    redis.once('ready', done)
    redis.once('error', done)
  })
}
