import fp from 'fastify-plugin'
import { eq, sql } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { users, type NewUser, type User } from '../src/db/schema.js'
import type { Db } from '../src/db/client.js'

declare module 'fastify' {
  interface FastifyInstance {
    users: UsersRepository
  }
}

/** Thrown when a username is taken. */
export class DuplicateUsername extends Error {
  constructor (readonly username: string) {
    super(`a user named ${JSON.stringify(username)} already exists`)
    this.name = 'DuplicateUsername'
  }
}

/** The largest id the users table can hold (PostgreSQL integer). */
export const MAX_USER_ID = 2_147_483_647

/** The users table, and nothing else reads or writes it (Django's auth_user). */
export function createUsersRepository (db: Db) {
  const byId = db.select().from(users).where(eq(users.id, sql.placeholder('id'))).limit(1).prepare('users_by_id')
  const byUsername = db.select().from(users).where(eq(users.username, sql.placeholder('username'))).limit(1).prepare('users_by_username')

  return {
    async findById (id: number): Promise<User | undefined> {
      // The column is a PostgreSQL integer: a larger id names nobody (and would make the query fail).
      if (!Number.isSafeInteger(id) || id < 1 || id > MAX_USER_ID) return undefined
      const [user] = await byId.execute({ id })
      return user
    },

    /** Exact, case-sensitive match, as Django's ModelBackend looks users up. */
    async findByUsername (username: string): Promise<User | undefined> {
      const [user] = await byUsername.execute({ username })
      return user
    },

    /** Inserts a user; throws DuplicateUsername when the name is taken. */
    async create (user: NewUser): Promise<User> {
      const [created] = await db.insert(users).values(user).onConflictDoNothing({ target: users.username }).returning()
      if (created === undefined) throw new DuplicateUsername(user.username)
      return created
    },

    /** Every user, by id. */
    async list (): Promise<User[]> {
      return db.select().from(users).orderBy(users.id)
    },

    /** Applies changes to a user named by username; undefined when there is no such user. */
    async update (username: string, changes: Partial<Omit<NewUser, 'id' | 'username'>>): Promise<User | undefined> {
      const [updated] = await db.update(users).set(changes).where(eq(users.username, username)).returning()
      return updated
    },

    async touchLastLogin (id: number, at: Date): Promise<void> {
      await db.update(users).set({ lastLogin: at }).where(eq(users.id, id))
    }
  }
}

export type UsersRepository = ReturnType<typeof createUsersRepository>

export default fp(async function usersPlugin (fastify: FastifyInstance) {
  fastify.decorate('users', createUsersRepository(fastify.db))
}, { name: 'users', dependencies: ['db'] })
