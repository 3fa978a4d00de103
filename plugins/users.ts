// fastify.simplejwt.users: the users store (src/db/users.ts), and the in-process change events the
// user cache hears at once (other instances hear them through LISTEN/NOTIFY).
import { EventEmitter } from 'node:events'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createUsersRepository } from '../src/db/users.js'

export default fp(async function usersPlugin (fastify: FastifyInstance) {
  const changes = new EventEmitter<{ change: [id: number] }>()
  fastify.simplejwt.userChanges = changes
  fastify.simplejwt.users = createUsersRepository(fastify.simplejwt.db, (id) => changes.emit('change', id))
}, { name: 'simplejwt-users', dependencies: ['simplejwt-db'] })
