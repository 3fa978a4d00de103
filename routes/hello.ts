// The tutorial's protected view: HelloView with IsAuthenticated
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { useComponents } from '../plugins/components.js'
import { authenticationErrorResponse, DetailSchema, documented, ServiceUnavailableResponse, TokenErrorSchema } from '../src/schemas/common.js'
import { HelloSchema } from '../src/schemas/hello.js'
import { requireUser } from '../plugins/authenticate.js'

const helloRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  // Encapsulated: this guard applies to the routes of this plugin only, never to the token routes.
  fastify.addHook('onRequest', fastify.simplejwt.authenticate)
  useComponents(fastify, HelloSchema, TokenErrorSchema, DetailSchema)

  fastify.get('/', {
    // Documented as simplejwt spells it; ignoreTrailingSlash answers the slash-less form too.
    prefixTrailingSlash: 'slash',
    schema: {
      operationId: 'hello',
      summary: 'Greet the authenticated user',
      description: 'Answers with the user\'s first and last name. Needs `Authorization: Bearer <access token>`.',
      tags: ['hello'],
      security: [{ bearerAuth: [] }],
      response: {
        200: documented(HelloSchema, 'The greeting.', {
          greeting: { summary: 'spiderman is Peter Parker', value: { msg: 'Hello Peter Parker' } }
        }),
        401: authenticationErrorResponse('No credentials, a malformed header, an invalid, expired or revoked token, or an unknown or inactive user.'),
        503: ServiceUnavailableResponse
      }
    }
  }, async (request) => {
    const { firstName, lastName, stateless, username, id } = requireUser(request)
    // Under AUTH_STATELESS the names are the token's first_name/last_name claims (add them with the
    // tokenClaims option); a token without them greets its username claim, or its user id.
    if (stateless === true && firstName === '' && lastName === '') return { msg: `Hello ${username === '' ? `user ${id}` : username}` }
    return { msg: `Hello ${firstName} ${lastName}` }
  })
}

export default helloRoutes
