// Builds the app exactly as src/server.ts does, on a database of the test file's own, with a clock the test moves.
import { createHmac } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { sql } from 'drizzle-orm'
import app, { serverOptions, type AppOptions } from '../src/app.js'
import { loadConfig, type Config } from '../src/domain/settings.js'
import { openDatabase, type Database } from '../src/db/client.js'
import { hashPassword } from '../src/domain/passwords.js'
import { freshDatabase, TEST_DATABASE_URL } from './setup/databases.js'
import { appSecrets, blacklistedTokens, outstandingTokens, revokedTokenFamilies, users } from '../src/db/schema.js'

/** The minimal tap surface the helpers need (teardown registration). */
export interface TestLike { teardown: (fn: () => unknown) => void }

/** A signing key long enough for every HMAC algorithm. */
export const TEST_KEY = 'test-signing-key-0123456789abcdef-0123456789abcdef-0123456789abcdef'

/** 2026-11-29T21:41:30Z, the moment the reference transcripts were recorded. */
export const FIXED_MS = Date.UTC(2026, 10, 29, 21, 41, 30)

/** A clock the test controls: `now()` for the app, `tick(seconds)` to move it. Never sleep. */
export class Clock {
  constructor (public ms = FIXED_MS) {}
  now = (): number => this.ms
  tick (seconds: number): void { this.ms += seconds * 1000 }
  get seconds (): number { return Math.floor(this.ms / 1000) }
}

/**
 * The settings tests run with: the defaults, a fixed key, silent logs, plus any override. Login
 * and refresh throttling are off, and the login queue generous, unless a test says otherwise: files
 * log in with wrong passwords and refresh in bursts on purpose.
 */
export function testConfig (overrides: Partial<Config> = {}): Config {
  return {
    ...loadConfig({ JWT_SIGNING_KEY: TEST_KEY, LOG_LEVEL: 'silent', MIGRATE_ON_START: 'false', LOGIN_THROTTLE_USERNAME: 'off', LOGIN_THROTTLE_IP: 'off', REFRESH_THROTTLE: 'off', LOGIN_QUEUE_SIZE: '10000', LOGIN_QUEUE_PER_CLIENT: '10000' }),
    ...overrides
  }
}

/** A database of this test file's own (PGlite, or PostgreSQL when TEST_DATABASE_URL is set). */
export async function testDatabase (t: TestLike): Promise<Database & { url?: string }> {
  return freshDatabase(fn => t.teardown(fn))
}

/**
 * The environment a test file's CLI commands run with, and a way to open their database afterwards:
 * the embedded database persisted under `dataDir` (every command opens and closes it), or a
 * PostgreSQL database of the file's own when TEST_DATABASE_URL is set.
 */
export async function cliDatabase (t: TestLike, dataDir: string): Promise<{ env: Record<string, string>, openAppDatabase: () => Promise<Database> }> {
  if (TEST_DATABASE_URL === undefined) {
    return { env: { DATA_DIR: dataDir, MIGRATE_ON_START: 'true' }, openAppDatabase: () => openDatabase(undefined, { dataDir }) }
  }
  const url = (await testDatabase(t)).url as string
  return { env: { DATABASE_URL: url, MIGRATE_ON_START: 'true' }, openAppDatabase: () => openDatabase(url, { dataDir: '' }) }
}

export interface BuildOptions {
  database?: Database
  clock?: Clock
  /** The app's tokenClaims option (custom claims). */
  tokenClaims?: AppOptions['tokenClaims']
}

/**
 * The app as production builds it (same server options, same plugin), ready, closed at teardown.
 * Pass `database` to share one database between several apps of one file.
 */
export async function build (t: TestLike, overrides: Partial<Config> = {}, options: BuildOptions = {}): Promise<FastifyInstance> {
  const config = testConfig(overrides)
  const database = options.database ?? await testDatabase(t)
  const server = Fastify(serverOptions(config))
  await server.register(fp(app), { config, database, now: options.clock?.now, tokenClaims: options.tokenClaims })
  await server.ready()
  built.add(server)
  t.teardown(async () => {
    built.delete(server)
    await server.close()
  })
  return server
}

// Every app this test file built: resetDb forgets their cached users at once, rather than
// waiting for the TRUNCATE notification to reach each of them.
const built = new Set<FastifyInstance>()

/** Empties every table between tests, and the user cache (TRUNCATE fires no row triggers). */
export async function resetDb (app: FastifyInstance): Promise<void> {
  await app.simplejwt.db.execute(sql`truncate ${users}, ${appSecrets}, ${outstandingTokens}, ${blacklistedTokens}, ${revokedTokenFamilies} restart identity cascade`)
  for (const server of [...built, app]) {
    server.simplejwt.userCache.clear()
    server.simplejwt.blacklist.statusCache?.clear()
  }
}

export interface UserSpec {
  username?: string
  password?: string
  firstName?: string
  lastName?: string
  email?: string
  isActive?: boolean
  isStaff?: boolean
  isSuperuser?: boolean
}

/** Creates a user as the CLI does (argon2id hash); defaults to the tutorial's spiderman / underoos, Peter Parker. */
export async function createUser (app: FastifyInstance, spec: UserSpec = {}) {
  return app.simplejwt.users.create({
    username: spec.username ?? 'spiderman',
    password: await hashPassword(spec.password ?? 'underoos'),
    firstName: spec.firstName ?? 'Peter',
    lastName: spec.lastName ?? 'Parker',
    email: spec.email ?? '',
    isActive: spec.isActive ?? true,
    isStaff: spec.isStaff ?? false,
    isSuperuser: spec.isSuperuser ?? false,
    // Joined well before any test clock (tokens issued before a user joined are refused).
    dateJoined: new Date(Date.UTC(2026, 0, 1))
  })
}

/** POST /api/token/ with JSON credentials; returns the parsed pair (fails loudly on anything but 200). */
export async function obtainPair (app: FastifyInstance, username = 'spiderman', password = 'underoos'): Promise<{ refresh: string, access: string }> {
  const res = await app.inject({ method: 'POST', url: '/api/token/', payload: { username, password } })
  if (res.statusCode !== 200) throw new Error(`obtainPair: ${res.statusCode} ${res.body}`)
  return res.json()
}

/** The Authorization header for a token. */
export function bearer (token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` }
}

const b64 = (value: string | Buffer) => Buffer.from(value).toString('base64url')

export interface ForgeOptions {
  key?: string
  alg?: 'HS256' | 'HS384' | 'HS512'
  /** The JOSE header, verbatim; defaults to {"alg","typ":"JWT"}. */
  header?: Record<string, unknown>
  /** The payload text verbatim, when claims cannot express it (e.g. `1.0`). */
  rawPayload?: string
}

/** Signs arbitrary claims with HMAC, independently of the app's code: for forged and odd tokens. */
export function forge (claims: Record<string, unknown>, options: ForgeOptions = {}): string {
  const alg = options.alg ?? 'HS256'
  const header = b64(JSON.stringify(options.header ?? { alg, typ: 'JWT' }))
  const payload = b64(options.rawPayload ?? JSON.stringify(claims))
  const hash = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[alg]
  const signature = createHmac(hash, options.key ?? TEST_KEY).update(`${header}.${payload}`).digest('base64url')
  return `${header}.${payload}.${signature}`
}

/** Decodes a token's header and payload without checking anything. */
export function decodeParts (token: string): { header: Record<string, unknown>, payload: Record<string, unknown>, payloadText: string } {
  const [header, payload] = token.split('.')
  const payloadText = Buffer.from(payload, 'base64url').toString()
  return { header: JSON.parse(Buffer.from(header, 'base64url').toString()), payload: JSON.parse(payloadText), payloadText }
}

/** The standard claims of a well-formed access token for user 1 at the clock's time, for forging variants. */
export function accessClaims (clock: Clock, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { token_type: 'access', exp: clock.seconds + 300, iat: clock.seconds, jti: '31a331fde15a4134b6e47d195ebafdda', user_id: 1, ...extra }
}
