// Library mode: the plugin inside an application that already has its own config, db, users table,
// error handler, @fastify/jwt and Swagger, sharing the application's database handle.
import t from 'tap'
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import fastifyJwt from '@fastify/jwt'
import swagger from '@fastify/swagger'
import cors from '@fastify/cors'
import simplejwt, { configFromOptions, securitySchemes, type SimpleJwtOptions } from '../../src/plugin.js'
import { hashPassword } from '../../src/domain/passwords.js'
import { applicationDatabase, createSpiderman } from '../helpers/app-database.js'
import { bearer, Clock, decodeParts, forge, TEST_KEY, type TestLike } from '../helper.js'

const SETTINGS = { JWT_SIGNING_KEY: TEST_KEY, LOGIN_THROTTLE_USERNAME: 'off', LOGIN_THROTTLE_IP: 'off' } as const

/** An application as people write them, then the plugin, then one protected route of its own. */
async function application (t: TestLike, options: SimpleJwtOptions): Promise<FastifyInstance> {
  const app = Fastify()
  app.decorate('config', { name: 'the application\'s own config (as @fastify/env makes it)' })
  app.decorate('db', 'the application\'s own db')
  // Plugins under the names an application gives its own (fastify-plugin names): the package's are
  // simplejwt-*, so none of these can stand in for one of the package's, nor clash with it.
  for (const name of ['db', 'users', 'jwt', 'authenticate', 'error-handler']) await app.register(fp(async () => {}, { name }))
  app.setErrorHandler((error: FastifyError, _request, reply) => reply.code(error.statusCode ?? 500).send({ appError: error.message }))
  await app.register(fastifyJwt, { secret: 'the application\'s own secret, for its own tokens' })
  await app.register(swagger, { openapi: { info: { title: 'The application', version: '1.0.0' }, components: { securitySchemes } } })
  await app.register(simplejwt, options)
  app.get('/things/', { onRequest: app.authenticate }, async (request) => ({ owner: request.user.username, name: `${request.user.firstName} ${request.user.lastName}` }))
  app.post('/echo', async (request) => ({ body: request.body }))
  app.get('/count', { schema: { querystring: { type: 'object', properties: { n: { type: 'integer' } } } } }, async (request) => request.query)
  await app.ready()
  t.teardown(() => app.close())
  return app
}

t.test('registered in an application, on its own database handle', async t => {
  const database = await applicationDatabase(t)
  const clock = new Clock()
  const app = await application(t, { ...SETTINGS, prefix: '/auth', database: database.drizzle, securityScheme: 'bearerAuth', now: clock.now, ACCESS_TOKEN_LIFETIME: '1m', ROTATE_REFRESH_TOKENS: true })
  await app.simplejwt.users.create({ username: 'spiderman', password: await hashPassword('underoos'), firstName: 'Peter', lastName: 'Parker', dateJoined: new Date(clock.ms - 86_400_000) })

  t.test('its tables and journal are its own: the application\'s are untouched', async t => {
    t.same(await database.query('select email from public.users'), [{ email: 'owner@example.com' }])
    t.same(await database.query('select hash from drizzle.__drizzle_migrations'), [{ hash: 'the-apps-own' }])
    t.same((await database.query('select username from simplejwt.users')).map(r => r.username), ['spiderman'])
    t.ok((await database.query('select count(*)::int as n from simplejwt.__drizzle_migrations'))[0].n as number >= 1, 'its own journal')
  })

  t.test('the token routes answer under the prefix, in simplejwt\'s wire format', async t => {
    const login = await app.inject({ method: 'POST', url: '/auth/token/', payload: { username: 'spiderman', password: 'underoos' } })
    t.equal(login.statusCode, 200)
    const { access, refresh } = login.json()
    const claims = decodeParts(access).payload
    t.equal((claims.exp as number) - (claims.iat as number), 60, 'ACCESS_TOKEN_LIFETIME given as "1m"')

    const things = await app.inject({ url: '/things/', headers: bearer(access) })
    t.equal(things.statusCode, 200)
    t.same(things.json(), { owner: 'spiderman', name: 'Peter Parker' }, 'request.user on the application\'s route')

    const rotated = await app.inject({ method: 'POST', url: '/auth/token/refresh/', payload: { refresh } })
    t.equal(rotated.statusCode, 200)
    t.same(Object.keys(rotated.json()).sort(), ['access', 'refresh'], 'ROTATE_REFRESH_TOKENS given as a boolean')
    const verified = await app.inject({ method: 'POST', url: '/auth/token/verify/', payload: { token: rotated.json().access } })
    t.same([verified.statusCode, verified.json()], [200, {}])

    t.equal((await app.inject({ method: 'POST', url: '/api/token/', payload: { username: 'spiderman', password: 'underoos' } })).statusCode, 404, 'nothing under the default prefix')
    const wrong = await app.inject({ method: 'POST', url: '/auth/token/', payload: { username: 'spiderman', password: 'wrong' } })
    t.same([wrong.statusCode, wrong.json()], [401, { detail: 'No active account found with the given credentials' }], 'its own error handler renders its errors')
    const bad = await app.inject({ method: 'POST', url: '/auth/token/', payload: { username: true, password: 'underoos' } })
    t.same([bad.statusCode, bad.json()], [400, { username: ['Not a valid string.'] }], 'DRF\'s validation, not the application\'s coercing Ajv')
    const get = await app.inject({ url: '/auth/token/' })
    t.same([get.statusCode, get.json(), get.headers.allow], [405, { detail: 'Method "GET" not allowed.' }, 'POST, OPTIONS'])
    const options = await app.inject({ method: 'OPTIONS', url: '/auth/token/' })
    t.match([options.statusCode, options.json()], [200, { name: 'Obtain a token pair', parses: ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'] }], 'OPTIONS: DRF\'s metadata')
  })

  t.test('fastify.authenticate answers DRF\'s 401 whatever the application\'s error handler', async t => {
    const none = await app.inject({ url: '/things/' })
    t.equal(none.statusCode, 401)
    t.same(none.json(), { detail: 'Authentication credentials were not provided.' })
    t.equal(none.headers['www-authenticate'], 'Bearer realm="api"')
    const forged = await app.inject({ url: '/things/', headers: bearer(forge({ token_type: 'access', exp: clock.seconds + 60, iat: clock.seconds, jti: 'a', user_id: 1 }, { key: 'another key' })) })
    t.equal(forged.statusCode, 401)
    t.equal(forged.json().code, 'token_not_valid')
    clock.tick(61)
    const login = await app.inject({ method: 'POST', url: '/auth/token/', payload: { username: 'spiderman', password: 'underoos' } })
    clock.tick(61)
    const expired = await app.inject({ url: '/things/', headers: bearer(login.json().access) })
    t.match(expired.json().messages[0].message, /expired/, 'the plugin\'s clock')
  })

  t.test('the application keeps its own decorators, parsers, validation, 404s and error handler', async t => {
    t.same((app as unknown as { config: unknown }).config, { name: 'the application\'s own config (as @fastify/env makes it)' })
    t.equal((app as unknown as { db: unknown }).db, 'the application\'s own db')
    t.equal(app.jwt.verify<{ a: number }>(app.jwt.sign({ a: 1 })).a, 1, 'its own @fastify/jwt')
    const echo = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'text/plain' }, payload: 'plain text' })
    t.same([echo.statusCode, echo.json()], [200, { body: 'plain text' }], 'Fastify\'s text/plain parser, which the token routes refuse')
    t.same((await app.inject({ url: '/count?n=3' })).json(), { n: 3 }, 'its Ajv still coerces')
    const missing = await app.inject({ url: '/nowhere' })
    t.equal(missing.statusCode, 404)
    t.same(missing.json(), { message: 'Route GET:/nowhere not found', error: 'Not Found', statusCode: 404 }, 'Fastify\'s 404, not the plugin\'s')
    t.notOk(missing.headers['x-frame-options'], 'no security headers forced on its routes')
  })

  t.test('the application\'s OpenAPI document includes the plugin\'s routes', async t => {
    const paths = Object.keys((app.swagger() as { paths: Record<string, unknown> }).paths)
    for (const path of ['/auth/token/', '/auth/token/refresh/', '/auth/token/verify/', '/auth/token/blacklist/', '/auth/token/sliding/', '/auth/admin/users/', '/.well-known/jwks.json', '/things/']) {
      t.ok(paths.includes(path), path)
    }
    const document = app.swagger() as { paths: Record<string, Record<string, { security?: unknown }>> }
    t.same(document.paths['/auth/token/revoke-all/'].post.security, [{ bearerAuth: [] }], 'protected routes name the application\'s scheme')
    t.same(document.paths['/auth/token/'].post.security, [], 'simplejwt\'s views are public')
  })

  t.test('closing the application leaves its database handle open', async t => {
    await app.close()
    t.same(await database.query('select email from public.users'), [{ email: 'owner@example.com' }])
  })
})

t.test('a raw client works as well as a Drizzle database; admin and JWKS can be left out', async t => {
  const database = await applicationDatabase(t)
  const app = await application(t, { ...SETTINGS, database: database.client, admin: false, jwksPath: false })
  const login = await app.inject({ method: 'POST', url: '/api/token/', payload: { username: 'nobody', password: 'x' } })
  t.equal(login.statusCode, 401, 'default prefix /api')
  t.equal((await app.inject({ url: '/api/admin/users/' })).statusCode, 404)
  t.equal((await app.inject({ url: '/.well-known/jwks.json' })).statusCode, 404)
  const document = app.swagger() as { paths: Record<string, Record<string, { security?: unknown }>> }
  t.notOk('security' in document.paths['/api/token/revoke-all/'].post, 'no securityScheme: no scheme named, and the document still builds')
  const revoke = await app.inject({ method: 'POST', url: '/api/token/revoke-all/' })
  t.equal(revoke.statusCode, 401, 'still protected')
})

t.test('settings are validated as the environment is, and unknown ones refused', async t => {
  // @ts-expect-error TypeScript refuses it too; plain JavaScript gets the same error at start
  t.throws(() => configFromOptions({ ACCESS_TOKEN_LIFETIME: 'soon' }), { name: 'ConfigError', message: /^ACCESS_TOKEN_LIFETIME: must be a duration/ })
  t.throws(() => configFromOptions({ ACESS_TOKEN_LIFETIME: 60 } as SimpleJwtOptions), { message: 'ACESS_TOKEN_LIFETIME: is not a setting of fastify-simplejwt' })
  t.throws(() => configFromOptions({ PORT: 3000 } as SimpleJwtOptions), { message: 'PORT: is a setting of the standalone server, not of the plugin' })
  t.throws(() => configFromOptions({ BLACKLIST_AFTER_ROTATION: true }), { message: /^BLACKLIST_AFTER_ROTATION: has no effect unless ROTATE_REFRESH_TOKENS/ })
  t.throws(() => configFromOptions({ NODE_ENV: 'production' }), { message: /^JWT_SIGNING_KEY: is required when NODE_ENV=production/ }, 'fails closed in production')
  const config = configFromOptions({
    ACCESS_TOKEN_LIFETIME: 60,
    AUTH_TOKEN_CLASSES: ['access', 'sliding'],
    AUTH_HEADER_TYPES: ['Bearer', 'JWT'],
    LOGIN_THROTTLE_USERNAME: { failures: 5, seconds: 60 },
    LOGIN_THROTTLE_IP: null,
    USER_CACHE_SIZE: 100,
    JWT_SIGNING_KEY: TEST_KEY
  })
  t.match(config, {
    ACCESS_TOKEN_LIFETIME: 60,
    AUTH_TOKEN_CLASSES: ['access', 'sliding'],
    AUTH_HEADER_TYPES: ['Bearer', 'JWT'],
    LOGIN_THROTTLE_USERNAME: { failures: 5, seconds: 60 },
    LOGIN_THROTTLE_IP: null,
    USER_CACHE_SIZE: 100
  })

  const app = Fastify()
  t.teardown(() => app.close())
  await t.rejects(async () => { await app.register(simplejwt, { database: 'memory://', ACCESS_TOKEN_LIFETIME: -5 }).ready() }, { name: 'ConfigError', message: /^ACCESS_TOKEN_LIFETIME: must be a duration/ }, 'a bad setting stops the application from starting')
})

t.test('a database option of the wrong kind is refused', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await t.rejects(async () => { await app.register(simplejwt, { ...SETTINGS, database: { not: 'a database' } as never }).ready() }, { name: 'DatabaseError', message: /must be a connection string, a postgres.js sql, a PGlite/ })
})

t.test('registered inside an encapsulated part of an application, it stays there', async t => {
  const database = await applicationDatabase(t)
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(async function v1 (v1) {
    await v1.register(simplejwt, { ...SETTINGS, database: database.client, prefix: '/auth' })
    v1.get('/me/', { onRequest: v1.authenticate }, async (request) => ({ id: request.user.id }))
  }, { prefix: '/v1' })
  await app.ready()
  t.notOk(app.hasDecorator('authenticate') || app.hasDecorator('simplejwt'), 'nothing leaks to the parent')

  const user = await createSpiderman(database)
  const login = await app.inject({ method: 'POST', url: '/v1/auth/token/', payload: { username: 'spiderman', password: 'underoos' } })
  t.equal(login.statusCode, 200, 'under both prefixes')
  const me = await app.inject({ url: '/v1/me/', headers: bearer(login.json().access) })
  t.same([me.statusCode, me.json()], [200, { id: user }])
  t.equal((await app.inject({ url: '/v1/.well-known/jwks.json' })).statusCode, 200, 'the keys under the enclosing prefix')
})

t.test('the application\'s 404s stay its own; 405 and OPTIONS only on the package\'s paths', async t => {
  const database = await applicationDatabase(t)
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(cors, { origin: 'https://app.example' })
  // Its own 404 handler, set in the plugin where it registers the package, under /api.
  await app.register(async function api (api) {
    api.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `no ${request.url}` }))
    api.setErrorHandler((error: FastifyError, _request, reply) => reply.code(error.statusCode ?? 500).send({ appError: error.message }))
    await api.register(simplejwt, { ...SETTINGS, database: database.client, prefix: '' })
    api.get('/things/', async () => ['a thing'])
  }, { prefix: '/api' })
  await app.ready()
  await createSpiderman(database)

  for (const url of ['/api/nowhere', '/api/token/nowhere/', '/api/admin/nowhere', '/api/token/refresh/x/']) {
    const missing = await app.inject({ url })
    t.same([missing.statusCode, missing.json()], [404, { error: `no ${url}` }], `${url}: the application's 404`)
  }
  t.same((await app.inject({ url: '/api/things/' })).json(), ['a thing'], 'its own routes answer')
  t.equal((await app.inject({ method: 'DELETE', url: '/api/things/' })).json().error, 'no /api/things/', 'and its own paths\' other methods are its 404s too')

  const get = await app.inject({ url: '/api/token/' })
  t.same([get.statusCode, get.json(), get.headers.allow], [405, { detail: 'Method "GET" not allowed.' }, 'POST, OPTIONS'], 'a package path with another method: DRF\'s 405')
  const put = await app.inject({ method: 'PUT', url: '/api/admin/users/1/' })
  t.same([put.statusCode, put.headers['www-authenticate']], [401, 'Bearer realm="api"'], 'a guarded path authenticates before its 405')
  const login = await app.inject({ method: 'POST', url: '/api/token/', payload: { username: 'spiderman', password: 'underoos' } })
  t.equal(login.statusCode, 200)

  const preflight = await app.inject({ method: 'OPTIONS', url: '/api/token/', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } })
  t.equal(preflight.statusCode, 204, 'a CORS preflight is still @fastify/cors\'s')
  t.equal(preflight.headers['access-control-allow-origin'], 'https://app.example')
  t.notMatch(app.printRoutes({ commonPrefix: false }), /\/api\/\*/, 'no wildcard route under the prefix')
})
