// The public keys, for other services to verify tokens without calling us (RFC 7517; not in simplejwt)
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { jwks } from '../src/domain/keys.js'
import { useComponents } from '../plugins/components.js'
import { documented } from '../src/schemas/common.js'
import { EC_KEY_EXAMPLE, JsonWebKeySetSchema } from '../src/schemas/jwks.js'

/** How long other services may cache the key set: a retired key stays listed far longer than this. */
export const JWKS_MAX_AGE = 300

const jwksRoutes: FastifyPluginAsyncTypebox<{ path?: string }> = async (fastify, options) => {
  // Built once: the keys only change with a restart.
  const document = jwks(fastify.simplejwt.keys)
  useComponents(fastify, JsonWebKeySetSchema)

  fastify.get(options.path ?? '/.well-known/jwks.json', {
    schema: {
      operationId: 'getJwks',
      summary: 'Get the public signing keys (JWKS)',
      description: 'The current and retired public keys that verify this service\'s tokens, with their `kid` and `alg`. Empty when tokens are signed with a shared HMAC secret, which is never published.',
      tags: ['keys'],
      security: [],
      response: {
        200: documented(JsonWebKeySetSchema, 'A JSON Web Key Set.', {
          ecKey: { summary: 'One ES256 key', value: { keys: [EC_KEY_EXAMPLE] } },
          hmac: { summary: 'HMAC (HS256): nothing to publish', value: { keys: [] } }
        }, {
          'cache-control': { type: 'string', description: 'Other services may cache the key set this long.', example: 'public, max-age=300' }
        })
      }
    }
  }, async (_request, reply) => {
    reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE}`)
    return document
  })
}

export default jwksRoutes
