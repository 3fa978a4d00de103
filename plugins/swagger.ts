import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { securitySchemes } from '../src/schemas/common.js'

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
        description: [
          'JSON Web Token authentication that speaks djangorestframework-simplejwt\'s wire format: the same URLs, bodies, status codes and claims.',
          '',
          'To try it here: **POST /api/token/** with a username and password ("Try it out", then "Execute"), copy the `access` token, paste it into **Authorize**, then **GET /api/hello/**.',
          '',
          'Every error is JSON in Django REST framework\'s shapes: `{"detail", "code"?}` for 401s, `{"field": ["message"]}` for 400s; every 401 carries `WWW-Authenticate: Bearer realm="api"`. Every path also answers without its trailing slash.'
        ].join('\n'),
        version: '0.1.0',
        license: { name: 'MIT', url: 'https://opensource.org/licenses/MIT' }
      },
      // Relative: the service that serves this document, whatever its host and port.
      servers: [{ url: '/', description: 'This service' }],
      tags: [
        { name: 'token', description: 'Obtain, refresh, verify, blacklist and revoke JSON web tokens (simplejwt\'s views, plus revoke-all).' },
        { name: 'hello', description: 'The tutorial\'s protected resource.' },
        { name: 'keys', description: 'Public keys for verifying tokens elsewhere.' },
        { name: 'health', description: 'Liveness and readiness probes.' },
        { name: 'admin', description: 'User administration for staff (Django\'s admin): list, create, read, update, set passwords, deactivate, revoke tokens.' }
      ],
      components: {
        securitySchemes
      }
    }
  })
  await fastify.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: false, persistAuthorization: false }
  })
}, { name: 'simplejwt-swagger' })
