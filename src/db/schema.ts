// Drizzle tables; users mirrors Django's auth_user so that Django users can be migrated as they are.
// Workflow: edit this file, then `npm run db:generate` writes a migration into drizzle/.
import { bigint, boolean, index, integer, pgSchema, text, timestamp, varchar } from 'drizzle-orm/pg-core'
import type { BlacklistReason } from '../domain/ports.js'

/**
 * Every table lives in a PostgreSQL schema of its own, so that the service can share an application's
 * database (library mode) without touching its tables: an app's own `users` is never ours.
 */
export const SCHEMA = 'simplejwt'
export const simplejwtSchema = pgSchema(SCHEMA)

export const users = simplejwtSchema.table('users', {
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
  tokensValidAfter: timestamp({ withTimezone: true }),
  // The hash as last imported from Django: `import-django --sync` compares the dump with it to tell a
  // password changed at Django from one merely rehashed here at login (null: not imported, or before 0003).
  djangoPassword: text()
})

/** Values the service generates once and shares between instances (the development signing key). */
export const appSecrets = simplejwtSchema.table('app_secrets', {
  name: varchar({ length: 64 }).primaryKey(),
  value: text().notNull(),
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow()
})

export type User = typeof users.$inferSelect
export type NewUser = typeof users.$inferInsert

// The token_blacklist app. The raw token is never stored: a jti identifies it.

/** One row per refresh token minted: login starts a family, each rotation adds a child. */
export const outstandingTokens = simplejwtSchema.table('outstanding_tokens', {
  id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  jti: varchar({ length: 255 }).notNull().unique(),
  userId: integer().references(() => users.id, { onDelete: 'set null' }),
  // The jti of the family's first token (the login); rotation keeps it.
  family: varchar({ length: 255 }).notNull(),
  parentJti: varchar({ length: 255 }),
  createdAt: timestamp({ withTimezone: true }).notNull(),
  expiresAt: timestamp({ withTimezone: true }).notNull()
}, (table) => [index('outstanding_tokens_user_id_idx').on(table.userId), index('outstanding_tokens_family_idx').on(table.family), index('outstanding_tokens_expires_at_idx').on(table.expiresAt)])

/**
 * Refresh tokens that may no longer be used. Keyed by jti rather than by an outstanding row, so that a
 * token minted before the table existed (or by Django) can be blacklisted too. The unique jti is what
 * makes rotation atomic: of concurrent inserts for one jti, exactly one returns a row.
 */
export const blacklistedTokens = simplejwtSchema.table('blacklisted_tokens', {
  id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  jti: varchar({ length: 255 }).notNull().unique(),
  reason: varchar({ length: 16 }).$type<BlacklistReason>().notNull(),
  blacklistedAt: timestamp({ withTimezone: true }).notNull(),
  expiresAt: timestamp({ withTimezone: true }).notNull(),
  // Who presented the token when it was rotated away, to name both parties if it comes back.
  ip: varchar({ length: 64 }),
  userAgent: varchar({ length: 512 })
}, (table) => [index('blacklisted_tokens_expires_at_idx').on(table.expiresAt)])

/** Families revoked because one of their rotated-away tokens came back (reuse detection). */
export const revokedTokenFamilies = simplejwtSchema.table('revoked_token_families', {
  family: varchar({ length: 255 }).primaryKey(),
  userId: integer(),
  revokedAt: timestamp({ withTimezone: true }).notNull(),
  expiresAt: timestamp({ withTimezone: true }).notNull()
}, (table) => [index('revoked_token_families_expires_at_idx').on(table.expiresAt)])

/** Why a token is blacklisted; `django` for a token blacklisted by the Django deployment (import-django-blacklist). */
export type { BlacklistReason } from '../domain/ports.js'
export type OutstandingToken = typeof outstandingTokens.$inferSelect
export type BlacklistedToken = typeof blacklistedTokens.$inferSelect
