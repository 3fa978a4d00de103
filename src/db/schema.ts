// Drizzle tables; users mirrors Django's auth_user so that Django users can be migrated as they are.
// Workflow: edit this file, then `npm run db:generate` writes a migration into drizzle/.
import { boolean, integer, pgTable, text, timestamp, varchar } from 'drizzle-orm/pg-core'

export const users = pgTable('users', {
  // "by default" rather than "always": an import keeps Django's primary keys (user_id in old tokens).
  id: integer().primaryKey().generatedByDefaultAsIdentity(),
  password: text().notNull(),
  lastLogin: timestamp({ withTimezone: true }),
  isSuperuser: boolean().notNull().default(false),
  username: varchar({ length: 150 }).notNull().unique(),
  firstName: varchar({ length: 150 }).notNull().default(''),
  lastName: varchar({ length: 150 }).notNull().default(''),
  email: varchar({ length: 254 }).notNull().default(''),
  isStaff: boolean().notNull().default(false),
  isActive: boolean().notNull().default(true),
  dateJoined: timestamp({ withTimezone: true }).notNull().defaultNow(),
  // Every token issued before this instant is refused (password change, deactivation, log out everywhere).
  tokensValidAfter: timestamp({ withTimezone: true })
})

/** Values the service generates once and shares between instances (the development signing key). */
export const appSecrets = pgTable('app_secrets', {
  name: varchar({ length: 64 }).primaryKey(),
  value: text().notNull(),
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow()
})

export type User = typeof users.$inferSelect
export type NewUser = typeof users.$inferInsert
