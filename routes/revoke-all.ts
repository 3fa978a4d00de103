// "Log out everywhere": revokes every token of the authenticated user (not in simplejwt)
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { useComponents } from '../plugins/components.js'
import { requireUser } from '../plugins/authenticate.js'
import { authenticationErrorResponse, DetailSchema, documented, EMPTY_EXAMPLES, EmptySchema, ServiceUnavailableResponse, TokenErrorSchema } from '../src/schemas/common.js'

const revokeAllRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  // Encapsulated guard, as on hello: only this route needs an access token.
  fastify.addHook('onRequest', fastify.simplejwt.authenticate)
  useComponents(fastify, EmptySchema, TokenErrorSchema, DetailSchema)

  fastify.post('/', {
    // Documented as simplejwt spells it; ignoreTrailingSlash answers the slash-less form too.
    prefixTrailingSlash: 'slash',
    schema: {
      operationId: 'revokeAllTokens',
      summary: 'Log out everywhere',
      description: 'Blacklists every outstanding refresh token of the authenticated user and rejects every access token issued before now, including the one that made this request. Tokens obtained afterwards work as usual.',
      tags: ['token'],
      security: [{ bearerAuth: [] }],
      response: {
        200: documented(EmptySchema, 'Every earlier token of the user is revoked.', EMPTY_EXAMPLES),
        401: authenticationErrorResponse('No credentials, or an invalid, expired or already revoked access token.'),
        503: ServiceUnavailableResponse
      }
    }
  }, async (request) => {
    await fastify.simplejwt.accounts.revokeAll(requireUser(request).id)
    return {}
  })
}

export default revokeAllRoutes
