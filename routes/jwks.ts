// The public keys, for other services to verify tokens without calling us (RFC 7517; not in simplejwt)
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { jwks } from '../src/keys.js'

/** How long other services may cache the key set: a retired key stays listed far longer than this. */
export const JWKS_MAX_AGE = 300

const JwkSchema = Type.Object({
  kty: Type.String({ examples: ['EC'] }),
  kid: Type.String(),
  alg: Type.String({ examples: ['ES256'] }),
  use: Type.Literal('sig'),
  crv: Type.Optional(Type.String()),
  x: Type.Optional(Type.String()),
  y: Type.Optional(Type.String()),
  n: Type.Optional(Type.String()),
  e: Type.Optional(Type.String())
})

const jwksRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  // Built once: the keys only change with a restart.
  const document = jwks(fastify.keys)

  fastify.get('/.well-known/jwks.json', {
    schema: {
      operationId: 'getJwks',
      summary: 'Get the public signing keys (JWKS)',
      description: 'The current and retired public keys that verify this service\'s tokens, with their `kid` and `alg`. Empty when tokens are signed with a shared HMAC secret, which is never published.',
      tags: ['keys'],
      response: {
        200: Type.Object({ keys: Type.Array(JwkSchema) }, { description: 'A JSON Web Key Set.' })
      }
    }
  }, async (_request, reply) => {
    reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE}`)
    return document
  })
}

export default jwksRoutes
