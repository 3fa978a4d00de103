import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { createAuthentication } from '../src/domain/authentication.js'

// simplejwt's JWTAuthentication on a request: the rules are src/domain/authentication.ts's.
export default fp(async function authenticatePlugin (fastify: FastifyInstance) {
  const { tokens, userCache, blacklist, config } = fastify.simplejwt
  const authenticate = createAuthentication({ settings: config, tokens, tokenStatus: blacklist, users: userCache })

  fastify.simplejwt.verifyRequest = async function verifyRequest (request: FastifyRequest) {
    request.user = await authenticate(request.headers.authorization)
  }
}, { name: 'simplejwt-authenticate', dependencies: ['simplejwt-service'] })
