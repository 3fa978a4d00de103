// Test databases: one per test file, seeded from a migrated template so no file migrates on its own.
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import { PGlite } from '@electric-sql/pglite'
import { migrationsFolder, openDatabase, resolveDatabase, type Database } from '../../src/db/client.js'

/** The real PostgreSQL to test against, when set (CI sets it); otherwise PGlite. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL === '' ? undefined : process.env.TEST_DATABASE_URL

/** The migrated template, named by the migrations so that a schema change makes a new one. */
export function templateDatabase (): string {
  return `fsj_template_${migrationsHash()}`
}

function migrationsHash (): string {
  const folder = migrationsFolder()
  const hash = createHash('sha256')
  for (const file of readdirSync(folder).filter(f => f.endsWith('.sql')).sort()) hash.update(readFileSync(join(folder, file)))
  return hash.digest('hex').slice(0, 16)
}

/** Where the migrated PGlite snapshot lives; named by the migrations, so a new one rebuilds it. */
export function snapshotPath (): string {
  return join(process.cwd(), 'node_modules', '.cache', 'fastify-simplejwt', `pglite-${migrationsHash()}.tar`)
}

/** A URL naming another database on the same server. */
export function withDatabaseName (url: string, name: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${name}`
  return parsed.toString()
}

/** Builds the PGlite snapshot and the PostgreSQL template; run once before the suite. */
export async function prepareTemplates (): Promise<void> {
  const snapshot = snapshotPath()
  if (!existsSync(snapshot)) {
    // Made with PGlite itself and handed over as an application's handle would be: the service has
    // no test-only way in.
    const client = await PGlite.create()
    await (await resolveDatabase(client, undefined, { dataDir: '' })).migrate()
    const blob = await client.dumpDataDir('none')
    await client.close()
    await mkdir(join(snapshot, '..'), { recursive: true })
    await writeFile(`${snapshot}.${process.pid}`, Buffer.from(await blob.arrayBuffer()))
    await rename(`${snapshot}.${process.pid}`, snapshot)
  }
  if (TEST_DATABASE_URL !== undefined) {
    const template = templateDatabase()
    const admin = await openDatabase(TEST_DATABASE_URL, { dataDir: '' })
    let created = false
    try {
      // Databases left behind by test processes that died before their teardown.
      // postgres.js answers raw queries with an array of rows.
      const stale = await admin.db.execute(sql`select datname from pg_database where datname like 'fsj_test_%'`) as unknown as Array<{ datname: string }>
      for (const { datname } of stale) {
        const pid = Number(datname.split('_')[2])
        if (!isAlive(pid)) await admin.db.execute(sql.raw(`drop database if exists "${datname}" with (force)`))
      }
      const exists = await admin.db.execute(sql`select 1 from pg_database where datname = ${template}`) as unknown as unknown[]
      if (exists.length === 0) {
        await admin.db.execute(sql.raw(`create database "${template}_${process.pid}"`))
        created = true
      }
    } finally {
      await admin.close()
    }
    if (created) {
      // Migrated under a temporary name and renamed when complete, so no file ever copies half a schema.
      const building = await openDatabase(withDatabaseName(TEST_DATABASE_URL, `${template}_${process.pid}`), { dataDir: '' })
      await building.migrate()
      await building.close()
      const again = await openDatabase(TEST_DATABASE_URL, { dataDir: '' })
      try {
        await again.db.execute(sql.raw(`alter database "${template}_${process.pid}" rename to "${template}"`))
      } catch {
        // Another run finished its template first; ours is surplus.
        await again.db.execute(sql.raw(`drop database if exists "${template}_${process.pid}" with (force)`))
      } finally {
        await again.close()
      }
    }
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

let counter = 0

/** A fresh, migrated database of its own, dropped when `teardown` runs. */
export async function freshDatabase (teardown: (fn: () => Promise<void>) => void): Promise<Database & { url?: string }> {
  if (TEST_DATABASE_URL === undefined) {
    const client = await PGlite.create({ loadDataDir: new Blob([await readFile(snapshotPath())]) })
    let closed: Promise<void> | undefined
    const close = () => (closed ??= client.close())
    teardown(close)
    return { ...await resolveDatabase(client, undefined, { dataDir: '' }), close }
  }
  const name = `fsj_test_${process.pid}_${counter++}`
  const admin = await openDatabase(TEST_DATABASE_URL, { dataDir: '' })
  await admin.db.execute(sql.raw(`create database "${name}" template "${templateDatabase()}"`))
  const url = withDatabaseName(TEST_DATABASE_URL, name)
  const database = await openDatabase(url, { dataDir: '' })
  teardown(async () => {
    await database.close()
    await admin.db.execute(sql.raw(`drop database if exists "${name}" with (force)`))
    await admin.close()
  })
  return { ...database, url }
}

/**
 * A database nobody has migrated (the application's own, in library mode): on PostgreSQL an empty
 * database dropped at teardown, and its URL; on PGlite, undefined (the caller makes one in memory).
 */
export async function emptyDatabaseUrl (teardown: (fn: () => Promise<void>) => void): Promise<string | undefined> {
  if (TEST_DATABASE_URL === undefined) return undefined
  const name = `fsj_test_${process.pid}_${counter++}`
  const admin = await openDatabase(TEST_DATABASE_URL, { dataDir: '' })
  await admin.db.execute(sql.raw(`create database "${name}"`))
  teardown(async () => {
    await admin.db.execute(sql.raw(`drop database if exists "${name}" with (force)`))
    await admin.close()
  })
  return withDatabaseName(TEST_DATABASE_URL, name)
}
