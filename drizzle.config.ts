import { defineConfig } from 'drizzle-kit'

// drizzle-kit reads this for `npm run db:generate` (no database needed) and `npm run db:migrate`.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './drizzle',
  casing: 'snake_case',
  strict: true,
  // The migrations journal lives beside the tables, apart from an application's own drizzle.__drizzle_migrations.
  migrations: { schema: 'simplejwt', table: '__drizzle_migrations' },
  verbose: true,
  dbCredentials: { url: process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/postgres' }
})
