import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'

/**
 * OpenAPI document generated from the routes' TypeBox schemas, served at /docs/json, and Swagger UI
 * at /docs with its assets served by the app itself (no CDN).
 * Registered before the routes: @fastify/swagger collects them through its onRoute hook.
 * @see https://github.com/fastify/fastify-swagger
 */
export default fp(async function swaggerPlugin (fastify: FastifyInstance) {
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'fastify-simplejwt',
        description: 'JSON Web Token authentication that speaks djangorestframework-simplejwt\'s wire format.',
        version: '0.1.0'
      },
      tags: [
        { name: 'token', description: 'Obtain, refresh and verify JSON web tokens (simplejwt\'s views).' },
        { name: 'hello', description: 'The tutorial\'s protected resource.' },
        { name: 'keys', description: 'Public keys for verifying tokens elsewhere.' },
        { name: 'health', description: 'Liveness and readiness probes.' }
      ],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from POST /api/token/.' }
        }
      }
    }
  })
  await fastify.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: false, persistAuthorization: false }
  })
}, { name: 'swagger' })
