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
          'Every error is JSON in Django REST framework\'s shapes: `{"detail", "code"?}` for 401s, `{"field": ["message"]}` for 400s; every 401 carries `WWW-Authenticate: Bearer realm="api"`. Every path also answers without its trailing slash.',
          '',
          'Request bodies are documented as JSON (`application/json`), which is what clients generated from this document send. As in Django REST framework, every route that takes a body also accepts the same fields as `application/x-www-form-urlencoded` or `multipart/form-data`; any other Content-Type answers 415.',
          '',
          'Shared bodies are named schemas under `components.schemas` (`TokenPair`, `RefreshedTokens`, `TokenError`, `ValidationError`, `Detail`…), so a generated client has one type for each; `TokenError.code` lists every code a 401 can carry.'
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
    },
    // Named schemas (fastify.addSchema, src/schemas/components.ts) are listed under their $id
    // (#/components/schemas/TokenError), the names generated clients give their types; `def-N` otherwise.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}`
    }
  })
  await fastify.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: false, persistAuthorization: false }
  })
}, { name: 'simplejwt-swagger' })
