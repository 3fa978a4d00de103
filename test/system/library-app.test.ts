// Issue 16: the plugin in applications built the way Fastify developers build them — their own
// @fastify/jwt and `authenticate`, claims read from their own database, their own error format, two
// API versions, registration inside an `/api` plugin — and the mistakes they make with its options.
import t from 'tap'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import fastifyJwt from '@fastify/jwt'
import simplejwt, { authenticatedUser, configFromOptions, hashPassword, type SimpleJwtOptions } from '../../src/plugin.js'
import { applicationDatabase, createSpiderman } from '../helpers/app-database.js'
import { bearer, decodeParts, TEST_KEY, type TestLike } from '../helper.js'

const SETTINGS = { JWT_SIGNING_KEY: TEST_KEY, LOGIN_THROTTLE_USERNAME: 'off', LOGIN_THROTTLE_IP: 'off' } as const
/** An embedded database may take longer than Fastify's default 10 s to open on a loaded machine (docs/library.md). */
const SLOW_START = { pluginTimeout: 120_000 }

/** A logger that keeps what it is given, for the warnings the plugin gives at start. */
function recordingLogger () {
  const lines: Array<Record<string, unknown>> = []
  const stream = { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>) } }
  return { lines, logger: { level: 'warn', stream } }
}

async function login (app: FastifyInstance, url = '/api/token/') {
  return app.inject({ method: 'POST', url, payload: { username: 'spiderman', password: 'underoos' } })
}

async function started (t: TestLike, app: FastifyInstance): Promise<FastifyInstance> {
  t.teardown(() => app.close())
  await app.ready()
  return app
}

t.test('an application with its own @fastify/jwt and its own `authenticate`', async t => {
  const database = await applicationDatabase(t)
  const { lines, logger } = recordingLogger()
  const app = Fastify({ logger, ...SLOW_START })
  // The usual @fastify/jwt recipe: the application's own tokens and its own `authenticate`.
  await app.register(fastifyJwt, { secret: 'the application\'s own secret, for its own tokens' })
  app.decorate('authenticate', async function (request: FastifyRequest, reply: FastifyReply) {
    try {
      await request.jwtVerify()
    } catch {
      await reply.code(401).send({ mine: 'the application\'s own 401' })
    }
  })
  await app.register(simplejwt, { ...SETTINGS, database: database.client })
  app.get('/mine/', { onRequest: (app as unknown as { authenticate: typeof app.simplejwt.authenticate }).authenticate }, async (request) => ({ user: request.user }))
  app.get('/theirs/', { onRequest: app.simplejwt.authenticate }, async (request) => ({ username: authenticatedUser(request)?.username }))
  app.get('/open/', async (request) => ({ user: authenticatedUser(request) ?? null }))
  await started(t, app)
  await createSpiderman(database)

  t.match(lines.find(line => String(line.msg).includes('fastify.authenticate is the application\'s own')), { level: 40 }, 'a warning, not a failed start')
  const pair = (await login(app)).json() as { access: string }
  t.same((await app.inject({ url: '/theirs/', headers: bearer(pair.access) })).json(), { username: 'spiderman' }, 'fastify.simplejwt.authenticate guards with the service\'s tokens')
  t.same((await app.inject({ url: '/mine/', headers: bearer(pair.access) })).json(), { mine: 'the application\'s own 401' }, 'its own authenticate still checks its own tokens')
  const own = app.jwt.sign({ sub: 'app-user' })
  t.match((await app.inject({ url: '/mine/', headers: bearer(own) })).json(), { user: { sub: 'app-user' } }, 'and accepts them')
  const refused = await app.inject({ url: '/theirs/', headers: bearer(own) })
  t.same([refused.statusCode, refused.json().code], [401, 'token_not_valid'], 'the application\'s tokens open nothing of the service\'s')
  t.same((await app.inject({ url: '/open/', headers: bearer(pair.access) })).json(), { user: null }, 'authenticatedUser is undefined on a route without the hook')
})

t.test('the hook under a name of the application\'s choice', async t => {
  const database = await applicationDatabase(t)
  const app = Fastify(SLOW_START)
  app.decorate('authenticate', 'taken' as never)
  await app.register(simplejwt, { ...SETTINGS, database: database.client, authenticateDecorator: 'requireToken' })
  app.get('/me/', { onRequest: (app as unknown as { requireToken: typeof app.simplejwt.authenticate }).requireToken }, async (request) => ({ id: authenticatedUser(request)?.id }))
  await started(t, app)
  const id = await createSpiderman(database)
  t.equal((app as unknown as { authenticate: unknown }).authenticate, 'taken')
  t.same((await app.inject({ url: '/me/', headers: bearer((await login(app)).json().access) })).json(), { id })

  const clash = Fastify(SLOW_START)
  t.teardown(() => clash.close())
  clash.decorate('requireToken', 'taken' as never)
  await t.rejects(async () => { await clash.register(simplejwt, { ...SETTINGS, database: 'memory://', authenticateDecorator: 'requireToken' }).ready() },
    { name: 'ConfigError', message: 'authenticateDecorator: fastify.requireToken is already decorated: choose another name, or false' }, 'a name asked for and taken fails the start')
})

t.test('two registrations: one per scope, and the prefix composes with the scope\'s', async t => {
  const database = await applicationDatabase(t)
  const app = Fastify(SLOW_START)
  await app.register(async function v1 (v1) {
    await v1.register(simplejwt, { ...SETTINGS, database: database.client, jwksPath: false })
  }, { prefix: '/api/v1' })
  await app.register(async function v2 (v2) {
    await v2.register(simplejwt, { ...SETTINGS, database: database.client, ACCESS_TOKEN_LIFETIME: '1m', jwksPath: false })
  }, { prefix: '/api/v2' })
  await app.register(async function api (api) {
    await api.register(simplejwt, { ...SETTINGS, database: database.client, jwksPath: false })
  }, { prefix: '/api' })
  await started(t, app)
  await createSpiderman(database)

  const v1 = await login(app, '/api/v1/token/')
  const v2 = await login(app, '/api/v2/token/')
  t.equal(v1.statusCode, 200, 'inside a prefixed scope the default prefix is the scope\'s: /api/v1/token/')
  t.equal(v2.statusCode, 200)
  const lifetime = (token: string) => { const { exp, iat } = decodeParts(token).payload as { exp: number, iat: number }; return exp - iat }
  t.equal(lifetime(v2.json().access), 60, 'each registration its own settings')
  t.equal(lifetime(v1.json().access), 300)
  t.equal((await login(app)).statusCode, 200, 'inside an /api plugin: /api/token/, not /api/api/token/')
  t.equal((await login(app, '/api/api/token/')).statusCode, 404)
  const verified = await app.inject({ method: 'POST', url: '/api/v2/token/verify/', payload: { token: v1.json().access } })
  t.equal(verified.statusCode, 200, 'one database, one user, one signing key: a token of one version verifies at the other')

  const twice = Fastify(SLOW_START)
  t.teardown(() => twice.close())
  await twice.register(simplejwt, { ...SETTINGS, database: 'memory://', prefix: '/api/v1' })
  twice.register(simplejwt, { ...SETTINGS, database: 'memory://', prefix: '/api/v2' })
  await t.rejects(async () => { await twice.ready() }, { message: /^fastify-simplejwt is already registered in this scope or a parent of it: .*its own encapsulated plugin/ }, 'twice in one scope: a clear error')
})

t.test('tokenClaims: async, from the application\'s database; validated at registration', async t => {
  const database = await applicationDatabase(t)
  await database.query('create table tenants (username text primary key, tenant text not null)')
  await database.query('insert into tenants values (\'spiderman\', \'avengers\')')
  const app = Fastify(SLOW_START)
  await app.register(simplejwt, {
    ...SETTINGS,
    database: database.client,
    tokenClaims: async (user) => {
      const [row] = await database.query(`select tenant from tenants where username = '${user.username}'`)
      return { tenant: row.tenant as string }
    }
  })
  app.get('/tenant/', { onRequest: app.simplejwt.authenticate }, async (request) => ({ tenant: authenticatedUser(request)?.claims.tenant }))
  await started(t, app)
  await createSpiderman(database)
  const pair = (await login(app)).json() as { access: string, refresh: string }
  t.equal(decodeParts(pair.refresh).payload.tenant, 'avengers', 'in the refresh token')
  t.same((await app.inject({ url: '/tenant/', headers: bearer(pair.access) })).json(), { tenant: 'avengers' }, 'and the access token, read back as request.user.claims')

  for (const [value, shown] of [['claims', 'string'], [{ tenant: 'x' }, 'object'], [null, 'null']] as const) {
    const wrong = Fastify(SLOW_START)
    t.teardown(() => wrong.close())
    await t.rejects(async () => { await wrong.register(simplejwt, { ...SETTINGS, database: 'memory://', tokenClaims: value as never }).ready() },
      { name: 'TypeError', message: `fastify-simplejwt: the tokenClaims option must be a function (user) => claims, or an async one; got ${shown}` }, `${shown}: refused at start, not at every login`)
  }
})

t.test('tokenClaims that returns no object: the login fails as a server fault, never a token without its claims', async t => {
  const database = await applicationDatabase(t)
  const { lines, logger } = recordingLogger()
  const app = Fastify({ logger: { ...logger, level: 'error' }, ...SLOW_START })
  await app.register(simplejwt, { ...SETTINGS, database: database.client, tokenClaims: (() => 'tenant=avengers') as never })
  await started(t, app)
  await createSpiderman(database)
  const answer = await login(app)
  t.same([answer.statusCode, answer.json()], [500, { detail: 'A server error occurred.' }])
  t.match(lines.at(-1), { msg: 'server error', err: { message: /tokenClaims must return an object of claims \(got string\)/ } }, 'logged with the cause')
})

t.test('the 401 in the application\'s error format, with its WWW-Authenticate', async t => {
  const database = await applicationDatabase(t)
  const app = Fastify(SLOW_START)
  await app.register(simplejwt, {
    ...SETTINGS,
    database: database.client,
    authenticationErrorBody: (body, statusCode) => ({ error: { status: statusCode, code: body.code ?? 'not_authenticated', message: body.detail } })
  })
  app.get('/me/', { onRequest: app.simplejwt.authenticate }, async () => ({}))
  await started(t, app)
  const none = await app.inject({ url: '/me/' })
  t.same([none.statusCode, none.json(), none.headers['www-authenticate']],
    [401, { error: { status: 401, code: 'not_authenticated', message: 'Authentication credentials were not provided.' } }, 'Bearer realm="api"'])
  const bad = await app.inject({ url: '/me/', headers: bearer('not.a.token') })
  t.same(bad.json().error.code, 'token_not_valid')
  const tokenRoute = await app.inject({ method: 'POST', url: '/api/token/verify/', payload: { token: 'x' } })
  t.same(tokenRoute.json(), { detail: 'Token is invalid or expired', code: 'token_not_valid' }, 'the token routes keep simplejwt\'s bodies, which its clients read')
})

t.test('users.create stores hashes only and never returns one', async t => {
  const database = await applicationDatabase(t)
  const app = Fastify(SLOW_START)
  await app.register(simplejwt, { ...SETTINGS, database: database.client })
  await started(t, app)
  await t.rejects(app.simplejwt.users.create({ username: 'plain', password: 'underoos' }), { name: 'TypeError', message: /stores a password hash in Django's format .*accounts\.create/ })
  t.same(await database.query('select username from simplejwt.users'), [], 'nothing stored')
  const created = await app.simplejwt.users.create({ username: 'spiderman', password: await hashPassword('underoos') })
  t.notOk('password' in created, 'no password field in what it returns')
  const account = await app.simplejwt.accounts.create({ username: 'mj', password: 'watson-mary-jane' })
  t.notOk('password' in account, 'nor does accounts.create, which takes a plain password and hashes it')
  t.equal((await login(app)).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: '/api/token/', payload: { username: 'mj', password: 'watson-mary-jane' } })).statusCode, 200)
})

t.test('no database option: refused in production, a warning in development', async t => {
  t.throws(() => configFromOptions({ NODE_ENV: 'production' } as SimpleJwtOptions))
  const production = Fastify(SLOW_START)
  t.teardown(() => production.close())
  await t.rejects(async () => { await production.register(simplejwt, { NODE_ENV: 'production', JWT_SIGNING_KEY: TEST_KEY }).ready() },
    { name: 'ConfigError', message: /^database: is required when NODE_ENV=production: pass the application's database/ })

  const { lines, logger } = recordingLogger()
  const development = Fastify({ logger, ...SLOW_START })
  t.teardown(() => development.close())
  const dataDir = t.testdir({})
  await development.register(simplejwt, { ...SETTINGS, NODE_ENV: 'development', DATA_DIR: dataDir }).ready()
  t.match(lines.find(line => String(line.msg).includes('no database option')), { level: 40, dataDir }, 'the embedded PGlite, said out loud')
})

t.test('options as people write them', async t => {
  const typo = (name: string) => t.throws(() => configFromOptions({ [name]: 60 } as SimpleJwtOptions), { name: 'ConfigError' })
  typo('accessTokenLifetime')
  t.throws(() => configFromOptions({ accessTokenLifetime: 60 } as SimpleJwtOptions), { message: 'accessTokenLifetime: is not a setting of fastify-simplejwt; did you mean ACCESS_TOKEN_LIFETIME?' })
  t.throws(() => configFromOptions({ access_token_lifetime: 60 } as SimpleJwtOptions), { message: /did you mean ACCESS_TOKEN_LIFETIME\?$/ })
  t.throws(() => configFromOptions({ ACESS_TOKEN_LIFETIME: 60 } as SimpleJwtOptions), { message: /did you mean ACCESS_TOKEN_LIFETIME\?$/ })
  t.throws(() => configFromOptions({ jwks_path: false } as SimpleJwtOptions), { message: /did you mean jwksPath\?$/ })
  t.throws(() => configFromOptions({ Prefix: '/x' } as SimpleJwtOptions), { message: /did you mean prefix\?$/ })
  t.throws(() => configFromOptions({ somethingElseEntirely: 1 } as SimpleJwtOptions), { message: 'somethingElseEntirely: is not a setting of fastify-simplejwt' })
  const config = configFromOptions({ ROTATE_REFRESH_TOKENS: 'true', BLACKLIST_AFTER_ROTATION: 'true', ACCESS_TOKEN_LIFETIME: '5m', UPDATE_LAST_LOGIN: 'false' })
  t.match(config, { ROTATE_REFRESH_TOKENS: true, BLACKLIST_AFTER_ROTATION: true, ACCESS_TOKEN_LIFETIME: 300, UPDATE_LAST_LOGIN: false }, 'text as the environment writes it')
  const app = Fastify(SLOW_START)
  t.teardown(() => app.close())
  await t.rejects(async () => { await app.register(simplejwt, { ...SETTINGS, database: 'memory://', now: 5 as never }).ready() }, { message: 'now: must be a function (got number)' })
})

t.test('operationIds are namespaced, so that the application\'s own stay unique', async t => {
  const swagger = (await import('@fastify/swagger')).default
  const app = Fastify(SLOW_START)
  await app.register(swagger, { openapi: { info: { title: 'app', version: '1' } } })
  app.get('/users/', { schema: { operationId: 'listUsers' } }, async () => [])
  app.post('/users/', { schema: { operationId: 'createUser' } }, async () => ({}))
  await app.register(simplejwt, { ...SETTINGS, database: 'memory://' })
  const custom = Fastify(SLOW_START)
  await custom.register(swagger, { openapi: { info: { title: 'app', version: '1' } } })
  await custom.register(simplejwt, { ...SETTINGS, database: 'memory://', operationIdPrefix: 'auth' })
  await started(t, app)
  await started(t, custom)
  const ids = (instance: FastifyInstance) => Object.values((instance.swagger() as { paths: Record<string, Record<string, { operationId?: string }>> }).paths)
    .flatMap(path => Object.values(path).map(operation => operation.operationId))
  const all = ids(app)
  t.equal(new Set(all).size, all.length, 'every operationId is unique')
  t.ok(all.includes('listUsers') && all.includes('createUser'), 'the application\'s own, untouched')
  t.ok(all.includes('simplejwtListUsers') && all.includes('simplejwtObtainTokenPair') && all.includes('simplejwtGetJwks'), 'the package\'s, under the default prefix')
  t.ok(ids(custom).includes('authObtainTokenPair'), 'or under the application\'s')
})
