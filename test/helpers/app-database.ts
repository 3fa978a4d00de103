// An application's own database, as applications make them: its own `users` table and Drizzle
// journal, on PostgreSQL (TEST_DATABASE_URL) or on a PGlite of its own.
import { PGlite } from '@electric-sql/pglite'
import postgres from 'postgres'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js'
import { hashPassword } from '../../src/domain/passwords.js'
import { emptyDatabaseUrl } from '../setup/databases.js'
import type { TestLike } from '../helper.js'

/** The application's own database, with its own `users` table and Drizzle journal, as the app made them. */
export async function applicationDatabase (t: TestLike) {
  const url = await emptyDatabaseUrl(fn => t.teardown(fn))
  const setup = [
    'create table users (id serial primary key, email text not null)',
    'insert into users (email) values (\'owner@example.com\')',
    'create schema drizzle',
    'create table drizzle.__drizzle_migrations (id serial primary key, hash text not null, created_at bigint)',
    'insert into drizzle.__drizzle_migrations (hash, created_at) values (\'the-apps-own\', 1)'
  ]
  if (url === undefined) {
    const client = new PGlite()
    t.teardown(() => client.close())
    for (const statement of setup) await client.exec(statement)
    const query = async (text: string) => (await client.query(text)).rows as Array<Record<string, unknown>>
    return { client, drizzle: drizzlePglite({ client }), query }
  }
  const client = postgres(url, { onnotice: () => {}, max: 4 })
  t.teardown(() => client.end({ timeout: 5 }))
  for (const statement of setup) await client.unsafe(statement)
  const query = async (text: string) => [...await client.unsafe(text)] as Array<Record<string, unknown>>
  return { client, drizzle: drizzlePostgres({ client }), query }
}

/** Creates spiderman in the plugin's table, as plain SQL would; returns his id. */
export async function createSpiderman (database: { query: (text: string) => Promise<Array<Record<string, unknown>>> }): Promise<number> {
  const password = await hashPassword('underoos')
  await database.query(`insert into simplejwt.users (username, password, first_name, last_name) values ('spiderman', '${password}', 'Peter', 'Parker')`)
  const [row] = await database.query('select id from simplejwt.users where username = \'spiderman\'')
  return row.id as number
}
