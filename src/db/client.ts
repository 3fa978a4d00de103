// The one place that picks a database driver: postgres.js for postgres:// URLs, embedded PGlite otherwise.
import { existsSync } from 'node:fs'
import { open, readFile, rm } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import type { Sql } from 'postgres'
import type { PGlite } from '@electric-sql/pglite'
import * as schema from './schema.js'
import { SCHEMA } from './schema.js'
import { redactUrl } from '../domain/settings.js'
import { postgresNotifications, SteadySubscription, type Listening, type NotificationTimings } from './notifications.js'
import { boundedPglite, boundedPostgres, serverTimeouts, withDeadline } from './bound.js'
import { secureDataDir, tightenDataDir } from './data-dir.js'

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>

export interface Database {
  db: Db
  driver: 'postgres' | 'pglite'
  /** Applies pending migrations from drizzle/, serialised across instances by an advisory lock. */
  migrate: () => Promise<void>
  /** One `select 1`, within the deadline: rejects (DatabaseTimeout or a driver error) when the database cannot answer. */
  ping: () => Promise<void>
  /** The deadline every call through `db` has (DATABASE_TIMEOUT), in milliseconds. */
  timeoutMs: number
  /**
   * Subscribes to a NOTIFY channel (src/db/notifications.ts). The subscription says whether
   * notifications are known to arrive now, and announces each drop ('down') and return ('up'):
   * while it is down, nothing cached from notifications may be trusted.
   */
  listen: (channel: string, onNotify: (payload: string) => void) => Promise<Listening>
  close: () => Promise<void>
}

export interface OpenOptions {
  /** Where the embedded database keeps its files when no URL is given. */
  dataDir: string
  /** The LISTEN connection's heartbeat and retry timings (PostgreSQL; tests make them small). */
  notificationTimings?: Partial<NotificationTimings>
  /** The deadline of every database call, in milliseconds (DATABASE_TIMEOUT); 5 s when not given. */
  timeoutMs?: number
  /**
   * Told when the embedded database's directory had to be tightened at start (src/db/data-dir.ts);
   * a process warning when not given.
   */
  onWarning?: (message: string) => void
}

/** DATABASE_TIMEOUT's default, for databases opened without settings (CLI helpers, tests). */
const DEFAULT_TIMEOUT_MS = 5000

/** A database problem worth one clear line (unreachable server, unreadable data directory). */
export class DatabaseError extends Error {
  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'DatabaseError'
  }
}

/** SQLSTATE classes and driver codes that mean "the database cannot be reached now", not "bad query". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED',
  '57P01', '57P02', '57P03', '53300',
  // DATABASE_TIMEOUT passed: the client's deadline (src/db/bound.ts), statement_timeout (57014, query_canceled),
  // lock_timeout (55P03, lock_not_available), idle_in_transaction_session_timeout (25P03).
  'DATABASE_TIMEOUT', '57014', '55P03', '25P03',
  // A deadlock or a serialization failure: transient, the request may be sent again.
  '40P01', '40001'
])

/** True when an error (as Drizzle wraps it, or raw) says the database is unreachable or shutting down. */
export function isDatabaseUnavailable (err: unknown): boolean {
  for (let e = err as { code?: unknown, cause?: unknown } | undefined, depth = 0; e != null && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && (UNAVAILABLE_CODES.has(e.code) || e.code.startsWith('08'))) return true
  }
  return false
}

// Arbitrary, fixed: every instance of this service contends for the same lock while migrating.
const MIGRATION_LOCK = 7_302_211_582
const casing = 'snake_case'
/** The journal lives in the service's own schema, apart from an application's drizzle.__drizzle_migrations. */
const MIGRATIONS = { get migrationsFolder () { return migrationsFolder() }, migrationsSchema: SCHEMA, migrationsTable: '__drizzle_migrations' }

/** The drizzle/ folder, found from this file whether it runs from src/ or from dist/src/. */
export function migrationsFolder (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = join(dir, 'drizzle')
    if (existsSync(join(candidate, 'meta', '_journal.json'))) return candidate
    const parent = dirname(dir)
    if (parent === dir) throw new DatabaseError('cannot find the drizzle/ migrations folder')
    dir = parent
  }
}

/**
 * Opens the database named by `url`: postgres:// or postgresql:// through postgres.js, `memory://`
 * as a throwaway PGlite, and undefined as a PGlite persisted under `dataDir`.
 * Throws DatabaseError when it cannot be reached.
 */
export async function openDatabase (url: string | undefined, options: OpenOptions): Promise<Database> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  if (url !== undefined && /^postgres(?:ql)?:\/\//.test(url)) return openPostgres(url, timeoutMs, options.notificationTimings)
  const warn = options.onWarning ?? (message => process.emitWarning(message, { code: 'SIMPLEJWT_DATA_DIR' }))
  return openPglite(url === 'memory://' ? undefined : resolve(options.dataDir), timeoutMs, warn)
}

/** Seconds before reconnecting after the `retries`-th failed connection in a row: 50 ms doubling, at most 1 s. */
const reconnectDelay = (retries: number) => Math.min(0.05 * 2 ** retries, 1)

async function openPostgres (url: string, timeoutMs: number, notificationTimings?: Partial<NotificationTimings>): Promise<Database> {
  const { default: postgres } = await import('postgres')
  // A short connect timeout: while the database is down, requests fail within seconds instead of
  // hanging. The server-side limits are connection parameters, so they hold for every statement.
  // Reconnects after at most 1 s, not postgres.js's backoff of up to 20 s: the pool is back soon after the database.
  const sql = postgres(url, {
    onnotice: () => {},
    connect_timeout: Math.min(2, timeoutMs / 1000),
    max: 10,
    backoff: reconnectDelay,
    connection: serverTimeouts(timeoutMs)
  })
  try {
    await sql`select 1`
  } catch (err) {
    await sql.end({ timeout: 0 })
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    throw new DatabaseError(`cannot connect to the database at ${redactUrl(url)} (${reason})`, { cause: err })
  }
  return postgresDatabase(sql, { owned: true, timeoutMs, url, notificationTimings })
}

/**
 * A Database over a postgres.js client; `owned` ones are ended by close(), others are the caller's.
 * Every call through `db` is bounded (src/db/bound.ts); a client of the caller's gets the server-side
 * limits by SET LOCAL in each transaction. Migrations are not bounded: with `url` they run on a
 * short-lived client of their own, without the limits. LISTEN runs on a connection of its own, with a
 * heartbeat and prompt re-subscription (src/db/notifications.ts), not through the bounded client.
 */
async function postgresDatabase (sql: Sql, { owned, timeoutMs, url, notificationTimings }: { owned: boolean, timeoutMs: number, url?: string, notificationTimings?: Partial<NotificationTimings> }): Promise<Database> {
  const { drizzle } = await import('drizzle-orm/postgres-js')
  const bounded = boundedPostgres(sql, timeoutMs, { setLocal: !owned })
  const db = drizzle({ client: bounded, schema, casing }) as unknown as Db
  const notifications = await postgresNotifications(sql, notificationTimings)
  return {
    db,
    driver: 'postgres',
    timeoutMs,
    async migrate () {
      if (url === undefined) return migratePostgres(sql)
      const { default: postgres } = await import('postgres')
      // Two connections: one holds the advisory lock while the other migrates.
      const unbounded = postgres(url, { onnotice: () => {}, connect_timeout: Math.min(2, timeoutMs / 1000), max: 2 })
      try {
        await migratePostgres(unbounded)
      } finally {
        await unbounded.end({ timeout: 5 })
      }
    },
    async ping () {
      await withDeadline(sql`select 1`, timeoutMs)
    },
    listen: (channel, onNotify) => notifications.listen(channel, onNotify),
    async close () {
      await notifications.close()
      if (owned) await sql.end({ timeout: 5 })
    }
  }
}

/** Applies the migrations on a client, under the advisory lock that serialises instances. */
async function migratePostgres (sql: Sql): Promise<void> {
  const { drizzle } = await import('drizzle-orm/postgres-js')
  const { migrate } = await import('drizzle-orm/postgres-js/migrator')
  const lock = await sql.reserve()
  try {
    await lock`select pg_advisory_lock(${MIGRATION_LOCK})`
    await migrate(drizzle({ client: sql, schema, casing }) as never, MIGRATIONS)
  } finally {
    await lock`select pg_advisory_unlock(${MIGRATION_LOCK})`
    lock.release()
  }
}

/** The message when the embedded database is asked for and @electric-sql/pglite is not installed. */
export const PGLITE_MISSING = 'the embedded database needs the optional package @electric-sql/pglite: `npm install @electric-sql/pglite`, or use PostgreSQL (DATABASE_URL=postgres://…, or the database option)'

/** PGlite is an optional peer dependency (≈70 MB): loaded only when the embedded database is used. */
async function importPglite (): Promise<typeof import('@electric-sql/pglite')> {
  try {
    return await import('@electric-sql/pglite')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') throw new DatabaseError(PGLITE_MISSING, { cause: err })
    throw err
  }
}

/**
 * Opens (or creates) the embedded database under `dataDir`, readable by this process's user only
 * (src/db/data-dir.ts): the directory is made 0700 before PGlite writes into it, what an existing
 * directory had loose is tightened (with a warning), and so is what PGlite itself creates loose.
 */
async function openPglite (dataDir: string | undefined, timeoutMs: number, warn: (message: string) => void): Promise<Database> {
  const { PGlite } = await importPglite()
  let client: PGlite | undefined
  let unlock = async () => {}
  try {
    if (dataDir !== undefined) {
      const looseDir = await secureDataDir(dataDir)
      unlock = await lockDirectory(dataDir)
      const loose = Number(looseDir) + await tightenDataDir(dataDir)
      if (loose > 0) warn(`the embedded database in ${dataDir} was readable by other users: ${loose} files and directories made owner-only (0700/0600)`)
    }
    client = await PGlite.create({ dataDir })
    if (dataDir !== undefined) await tightenDataDir(dataDir)
  } catch (err) {
    await client?.close().catch(() => {})
    await unlock()
    if (err instanceof DatabaseError) throw err
    throw new DatabaseError(`cannot open the embedded database in ${dataDir ?? 'memory'} (${(err as Error).message})`, { cause: err })
  }
  const opened = client
  const database = await pgliteDatabase(opened, timeoutMs)
  return {
    ...database,
    async close () {
      await opened.close()
      await unlock()
    }
  }
}

/** A Database over a PGlite instance that its caller closes; calls through `db` are bounded too. */
async function pgliteDatabase (client: PGlite, timeoutMs: number): Promise<Database> {
  const { drizzle } = await import('drizzle-orm/pglite')
  const { migrate } = await import('drizzle-orm/pglite/migrator')
  const db = drizzle({ client: boundedPglite(client, timeoutMs), schema, casing }) as unknown as Db
  const subscription = new SteadySubscription()
  return {
    db,
    driver: 'pglite',
    timeoutMs,
    // One process owns a PGlite database, so there is nobody to lock against. Not bounded.
    migrate: () => migrate(drizzle({ client, schema, casing }) as never, MIGRATIONS),
    async ping () {
      await withDeadline(client.query('select 1'), timeoutMs)
    },
    // LISTEN runs inside the process: it never drops.
    async listen (channel, onNotify) {
      return { subscription, unlisten: await client.listen(channel, onNotify) }
    },
    close: async () => {}
  }
}

/**
 * What the plugin's `database` option accepts: a connection string (opened, and closed with the app),
 * or the application's own handle, which the application keeps and closes: a postgres.js `sql`, a
 * PGlite, or a Drizzle database over either (its `$client` is used, with this service's schema).
 */
export type DatabaseOption = string | Database | Sql | PGlite | { $client: Sql | PGlite }

const isPostgresJs = (value: unknown): value is Sql => typeof value === 'function' &&
  typeof (value as Partial<Sql>).unsafe === 'function' && typeof (value as Partial<Sql>).reserve === 'function'
const isPglite = (value: unknown): value is PGlite => typeof value === 'object' && value !== null &&
  typeof (value as Partial<PGlite>).dumpDataDir === 'function' && typeof (value as Partial<PGlite>).listen === 'function'
const isDatabase = (value: unknown): value is Database => typeof value === 'object' && value !== null &&
  'db' in value && 'driver' in value && typeof (value as Partial<Database>).migrate === 'function'

/**
 * The database an option names. Only a connection string (or none: DATABASE_URL, else the embedded
 * database under `dataDir`) is opened here and closed by the returned `close()`. An open Database
 * keeps the deadline it was opened with; other handles get `options.timeoutMs`.
 */
export async function resolveDatabase (option: DatabaseOption | undefined, fallbackUrl: string | undefined, options: OpenOptions): Promise<Database> {
  if (option === undefined || typeof option === 'string') return openDatabase(option ?? fallbackUrl, options)
  if (isDatabase(option)) return { ...option, close: async () => {} }
  const client = typeof option === 'object' && option !== null && '$client' in option ? option.$client : option
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  if (isPostgresJs(client)) return postgresDatabase(client, { owned: false, timeoutMs, notificationTimings: options.notificationTimings })
  if (isPglite(client)) return pgliteDatabase(client, timeoutMs)
  throw new DatabaseError('the database option must be a connection string, a postgres.js sql, a PGlite, or a Drizzle database over one of them')
}

/**
 * Claims an embedded database directory for this process. PGlite has no server to arbitrate between
 * processes, and two of them writing one directory would corrupt it; a stale lock is taken over.
 */
async function lockDirectory (dir: string): Promise<() => Promise<void>> {
  const file = join(dir, 'fastify-simplejwt.lock')
  for (;;) {
    try {
      const handle = await open(file, 'wx', 0o600)
      await handle.writeFile(String(process.pid))
      await handle.close()
      return () => rm(file, { force: true })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const owner = Number(await readFile(file, 'utf8').catch(() => ''))
    if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
      throw new DatabaseError(`the embedded database in ${dir} is in use by process ${owner}; stop it first, or use DATABASE_URL=postgres://… to share a database`)
    }
    await rm(file, { force: true })
  }
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
