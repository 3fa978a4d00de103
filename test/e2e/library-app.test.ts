// Issue 16, as a Fastify developer meets it: the packed package installed into a TypeScript
// application of its own — its own postgres.js/Drizzle connection and table, @fastify/jwt with its
// own `authenticate` and FastifyJWT types, @fastify/swagger, @fastify/cors, its own 404 and error
// handlers, an `/api` prefix — compiled under strict + exactOptionalPropertyTypes, then run and
// driven over HTTP. docs/library.md's example is compiled there too, as the docs show it.
// On the PostgreSQL leg the application does not install PGlite (an optional peer dependency).
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { TEST_KEY } from '../helper.js'
import { spawnApp } from '../helpers/spawned-app.js'
import { emptyDatabaseUrl } from '../setup/databases.js'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm'
/** The oldest Fastify of the package's peer range: the application runs on it. */
const OLDEST_FASTIFY = '5.2.0'

const databaseUrl = await emptyDatabaseUrl(fn => t.teardown(fn))
const onPostgres = databaseUrl !== undefined

const scratch = await mkdtemp(join(tmpdir(), 'fsj-library-app-'))
t.teardown(() => rm(scratch, { recursive: true, force: true }))
const appDir = join(scratch, 'app')

/** The version of a package installed in this repository, so that npm finds it in its cache. */
async function installed (name: string): Promise<string> {
  return (JSON.parse(await readFile(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
}

/** The application's database: its own postgres.js and Drizzle, or (PGlite leg) its own PGlite. */
const DB_TS = onPostgres
  ? `import postgres from 'postgres'
import { drizzle } from 'drizzle-orm/postgres-js'
export const sql = postgres(process.env.DATABASE_URL ?? '', { onnotice: () => {} })
export const db = drizzle({ client: sql })
export const close = () => sql.end({ timeout: 5 })
`
  : `import { PGlite } from '@electric-sql/pglite'
import { drizzle } from 'drizzle-orm/pglite'
const client = new PGlite()
export const db = drizzle({ client })
export const close = () => client.close()
`

const APP_TS = `import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import fastifyJwt from '@fastify/jwt'
import swagger from '@fastify/swagger'
import cors from '@fastify/cors'
import { eq, sql as raw } from 'drizzle-orm'
import { pgTable, serial, text } from 'drizzle-orm/pg-core'
import simplejwt, { authenticatedUser, securitySchemes, UnauthorizedResponse, type SimpleJwtOptions } from 'fastify-simplejwt'
import { db, close } from './db.js'

// The application's own @fastify/jwt types and its own authenticate, as its recipe declares them.
declare module '@fastify/jwt' {
  interface FastifyJWT { payload: { sub: string }, user: { sub: string } }
}
declare module 'fastify' {
  interface FastifyInstance { authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void> }
}
// Its claims, typed through declaration merging.
declare module 'fastify-simplejwt' {
  interface CustomClaims { tenant?: string }
}

// Its own table, in its own schema (public).
const tenants = pgTable('tenants', { id: serial('id').primaryKey(), username: text('username').notNull(), tenant: text('tenant').notNull() })
await db.execute(raw\`create table if not exists tenants (id serial primary key, username text not null, tenant text not null)\`)
await db.insert(tenants).values({ username: 'spiderman', tenant: 'avengers' })

const app = Fastify({ logger: { level: 'info' } })
await app.register(cors, { origin: 'https://app.example' })
await app.register(swagger, { openapi: { info: { title: 'The application', version: '1.0.0' }, components: { securitySchemes } } })
await app.register(fastifyJwt, { secret: 'the application\\'s own secret, for its own tokens' })
app.decorate('authenticate', async function (request: FastifyRequest, reply: FastifyReply) {
  try { await request.jwtVerify() } catch { await reply.code(401).send({ error: 'the application\\'s own 401' }) }
})

const options: SimpleJwtOptions = {
  database: db,
  JWT_SIGNING_KEY: process.env.JWT_SIGNING_KEY,
  ACCESS_TOKEN_LIFETIME: '5m',
  ROTATE_REFRESH_TOKENS: 'true',
  BLACKLIST_AFTER_ROTATION: true,
  LOGIN_THROTTLE_IP: process.env.LOGIN_THROTTLE_IP,
  securityScheme: 'bearerAuth',
  tokenClaims: async (user) => {
    const [row] = await db.select().from(tenants).where(eq(tenants.username, user.username))
    return row === undefined ? {} : { tenant: row.tenant }
  },
  authenticationErrorBody: (body, status) => ({ error: { status, message: body.detail, code: body.code ?? null } })
}

await app.register(async function api (api) {
  api.setNotFoundHandler((request, reply) => reply.code(404).send({ error: \`no route \${request.method} \${request.url}\` }))
  api.setErrorHandler((error, _request, reply) => reply.code(error.statusCode ?? 500).send({ error: error.message }))
  await api.register(simplejwt, options)
  // The tutorial's user, created from code (accounts.create hashes the plain password).
  if (await api.simplejwt.users.findByUsername('spiderman') === undefined) {
    await api.simplejwt.accounts.create({ username: 'spiderman', password: 'underoos', firstName: 'Peter', lastName: 'Parker' })
  }
  api.get('/projects/', {
    onRequest: api.simplejwt.authenticate,
    schema: { operationId: 'listProjects', security: [{ bearerAuth: [] }], response: { 401: UnauthorizedResponse } }
  }, async (request) => {
    const user = authenticatedUser(request)
    const tenant: string | undefined = user?.claims.tenant
    return { owner: user?.username, tenant }
  })
  api.get('/users/', { schema: { operationId: 'listUsers' } }, async () => [])
  api.post('/users/', { schema: { operationId: 'createUser' } }, async () => ({}))
  api.get('/app-token/', async () => ({ token: app.jwt.sign({ sub: 'app-user' }) }))
  api.get('/mine/', { onRequest: app.authenticate }, async (request) => ({ sub: request.user.sub }))
}, { prefix: '/api' })

app.get('/openapi.json', async () => app.swagger())
app.addHook('onClose', async () => { await close() })
await app.listen({ host: '127.0.0.1', port: 0 })
`

/** What the application cannot show over HTTP: start-up refusals, and users.create. */
const CHECKS_TS = `import { createServer } from 'node:net'
import Fastify from 'fastify'
import simplejwt, { hashPassword } from 'fastify-simplejwt'

const results: Record<string, unknown> = {}
async function attempt (name: string, start: () => Promise<unknown>) {
  try {
    await start()
    results[name] = 'started'
  } catch (err) {
    results[name] = { name: (err as Error).name, message: (err as Error).message }
  }
}

// No database option in production: refused, naming the option.
await attempt('production', async () => {
  const app = Fastify()
  try { await app.register(simplejwt, { NODE_ENV: 'production', JWT_SIGNING_KEY: process.env.JWT_SIGNING_KEY }).ready() } finally { await app.close() }
})
// The embedded database without PGlite installed (PostgreSQL leg) or with it (PGlite leg).
await attempt('embedded', async () => {
  const app = Fastify({ pluginTimeout: 120_000 })
  try { await app.register(simplejwt, { NODE_ENV: 'development', DATABASE_URL: 'memory://', LOGIN_THROTTLE_IP: 'off' }).ready() } finally { await app.close() }
})
// A database that never answers, under a short pluginTimeout: the error names the package and the step.
const silent = createServer(() => {})
await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve))
const port = (silent.address() as { port: number }).port
await attempt('timeout', async () => {
  const app = Fastify({ pluginTimeout: 1500 })
  try { await app.register(simplejwt, { database: \`postgres://nobody@127.0.0.1:\${port}/none\`, JWT_SIGNING_KEY: process.env.JWT_SIGNING_KEY, DATABASE_TIMEOUT: 30 }).ready() } finally { void app.close().catch(() => {}) }
})
silent.close()
// users.create: a plain password is refused; a hash is stored and never returned.
const app = Fastify()
await app.register(simplejwt, { database: process.env.DATABASE_URL ?? 'memory://', JWT_SIGNING_KEY: process.env.JWT_SIGNING_KEY })
await attempt('plain', () => app.simplejwt.users.create({ username: 'plain', password: 'underoos' }))
const created = await app.simplejwt.users.create({ username: 'hashed', password: await hashPassword('underoos') })
results.returned = Object.keys(created).sort()
await app.close()
process.stdout.write(JSON.stringify(results))
process.exit(0)
`

t.before(async () => {
  // dist/ is built by test:e2e's build; prepack (the build) would race the other test files.
  const { stdout } = await run(NPM, ['pack', '--json', '--ignore-scripts', '--pack-destination', scratch], { cwd: ROOT })
  const [packed] = JSON.parse(stdout) as Array<{ filename: string, files: Array<{ path: string }> }>
  const files = packed.files.map(f => f.path)
  t.ok(files.includes('clients/typescript/index.ts') && files.includes('examples/app.js'), 'clients/ and examples/, which the README points to, are packed')
  const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>, peerDependencies: Record<string, string>, peerDependenciesMeta: Record<string, { optional?: boolean }> }
  t.notOk('fastify' in manifest.dependencies, 'fastify is no dependency of the package')
  t.ok(manifest.peerDependencies.fastify?.startsWith('^5.'), 'but a peer one')
  t.same(manifest.peerDependenciesMeta['@electric-sql/pglite'], { optional: true }, 'PGlite is an optional peer')

  await mkdir(join(appDir, 'src'), { recursive: true })
  await writeFile(join(appDir, 'package.json'), JSON.stringify({ name: 'the-application', private: true, type: 'module' }))
  const packages = [join(scratch, packed.filename), `fastify@${OLDEST_FASTIFY}`]
  for (const name of ['@fastify/jwt', '@fastify/swagger', '@fastify/cors', 'postgres', 'drizzle-orm', '@types/node']) packages.push(`${name}@${await installed(name)}`)
  if (!onPostgres) packages.push(`@electric-sql/pglite@${await installed('@electric-sql/pglite')}`)
  // From npm's cache where it can: CI has just installed the same versions. No peer is installed unasked (legacy-peer-deps).
  await run(NPM, ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', '--legacy-peer-deps', '--loglevel=error', ...packages], { cwd: appDir, timeout: 180_000 })

  const library = await readFile(join(ROOT, 'docs', 'library.md'), 'utf8')
  const example = /```ts\n([\s\S]*?)```/.exec(library)?.[1]
  if (example === undefined) throw new Error('docs/library.md has no ```ts example')
  await mkdir(join(appDir, 'readme'))
  await writeFile(join(appDir, 'readme', 'example.ts'), `${example}\nexport {}\n`)
  await writeFile(join(appDir, 'src', 'db.ts'), DB_TS)
  await writeFile(join(appDir, 'src', 'app.ts'), APP_TS)
  await writeFile(join(appDir, 'src', 'checks.ts'), CHECKS_TS)
  await writeFile(join(appDir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'es2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      strict: true,
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
      skipLibCheck: true,
      outDir: 'dist',
      rootDir: 'src'
    },
    include: ['src']
  }))
  // The docs' example is a program of its own: it lets the package type request.user (fastify-simplejwt/augment),
  // which the application above, with its own @fastify/jwt types, does not.
  await writeFile(join(appDir, 'tsconfig.readme.json'), JSON.stringify({ extends: './tsconfig.json', compilerOptions: { noEmit: true, rootDir: '.' }, include: ['readme'] }))
})

t.test('the application compiles under strict + exactOptionalPropertyTypes, with the package\'s and its own declarations', async t => {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
  const result = await run(process.execPath, [tsc, '-p', appDir], { cwd: appDir, timeout: 120_000 })
    .then(() => ({ ok: true, out: '' }), (err: { stdout: string }) => ({ ok: false, out: err.stdout }))
  t.ok(result.ok, `tsc: ${result.out}`)
  const readme = await run(process.execPath, [tsc, '-p', join(appDir, 'tsconfig.readme.json')], { cwd: appDir, timeout: 120_000 })
    .then(() => ({ ok: true, out: '' }), (err: { stdout: string }) => ({ ok: false, out: err.stdout }))
  t.ok(readme.ok, `docs/library.md's example compiles as it is written: ${readme.out}`)
})

t.test('start-up refusals and users.create, on the installed package', async t => {
  const { stdout } = await run(process.execPath, ['dist/checks.js'], {
    cwd: appDir,
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', JWT_SIGNING_KEY: TEST_KEY, ...(databaseUrl === undefined ? {} : { DATABASE_URL: databaseUrl }) }
  })
  const results = JSON.parse(stdout) as Record<string, { name?: string, message?: string } | string | string[]>
  t.comment(JSON.stringify(results))
  t.match(results.production, { name: 'ConfigError', message: /^database: is required when NODE_ENV=production/ })
  if (onPostgres) t.match(results.embedded, { message: /needs the optional package @electric-sql\/pglite: `npm install @electric-sql\/pglite`/ }, 'PGlite is not installed: said so')
  else t.equal(results.embedded, 'started', 'PGlite installed by the application: the embedded database opens')
  t.match(results.timeout, { message: /^fastify-simplejwt did not start within Fastify's pluginTimeout \(1500 ms\): it was still connecting to PostgreSQL at 127\.0\.0\.1:\d+ \(is it reachable\?\)/ })
  t.match(results.plain, { name: 'TypeError', message: /stores a password hash/ })
  t.notOk((results.returned as string[]).includes('password'), 'users.create returns no password field')
})

t.test('the application runs, and every item of the issue holds over HTTP', async t => {
  const { base, output } = await spawnApp(t, appDir, 'dist/app.js', { JWT_SIGNING_KEY: TEST_KEY, LOGIN_THROTTLE_IP: 'off', ...(databaseUrl === undefined ? {} : { DATABASE_URL: databaseUrl }) })
  if (base === undefined) return t.fail(`the application did not start:\n${output()}`)

  const post = (path: string, body: unknown) => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const login = await post('/api/token/', { username: 'spiderman', password: 'underoos' })
  t.equal(login.status, 200, 'inside the /api plugin with the default prefix: /api/token/')
  const { access, refresh } = await login.json() as { access: string, refresh: string }

  const projects = await fetch(`${base}/api/projects/`, { headers: { authorization: `Bearer ${access}` } })
  t.same(await projects.json(), { owner: 'spiderman', tenant: 'avengers' }, 'the async tokenClaims read the application\'s table; the claim comes back typed')
  const anonymous = await fetch(`${base}/api/projects/`)
  t.same([anonymous.status, await anonymous.json(), anonymous.headers.get('www-authenticate')],
    [401, { error: { status: 401, message: 'Authentication credentials were not provided.', code: null } }, 'Bearer realm="api"'], 'the 401 in the application\'s format, with its challenge')

  const rotated = await post('/api/token/refresh/', { refresh })
  t.same(Object.keys(await rotated.json() as object).sort(), ['access', 'refresh'], 'ROTATE_REFRESH_TOKENS given as \'true\'')

  const missing = await fetch(`${base}/api/nowhere`)
  t.same([missing.status, await missing.json()], [404, { error: 'no route GET /api/nowhere' }], 'the application\'s 404 handler, under the package\'s prefix')
  const wrongMethod = await fetch(`${base}/api/token/`)
  t.same([wrongMethod.status, wrongMethod.headers.get('allow')], [405, 'POST, OPTIONS'], 'the package\'s own paths answer 405')
  const preflight = await fetch(`${base}/api/token/`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } })
  t.same([preflight.status, preflight.headers.get('access-control-allow-origin')], [204, 'https://app.example'], '@fastify/cors answers the preflight')

  const appToken = (await (await fetch(`${base}/api/app-token/`)).json() as { token: string }).token
  const mine = await fetch(`${base}/api/mine/`, { headers: { authorization: `Bearer ${appToken}` } })
  t.same(await mine.json(), { sub: 'app-user' }, 'the application\'s own @fastify/jwt and authenticate are untouched')
  const crossed = await fetch(`${base}/api/mine/`, { headers: { authorization: `Bearer ${access}` } })
  t.equal(crossed.status, 401, 'and the service\'s tokens open nothing of the application\'s')

  const document = await (await fetch(`${base}/openapi.json`)).json() as { paths: Record<string, Record<string, { operationId?: string, security?: unknown }>> }
  const operationIds = Object.values(document.paths).flatMap(path => Object.values(path).map(operation => operation.operationId)).filter(id => id !== undefined)
  t.equal(new Set(operationIds).size, operationIds.length, 'every operationId in the application\'s document is unique')
  t.ok(operationIds.includes('listUsers') && operationIds.includes('simplejwtListUsers') && operationIds.includes('simplejwtObtainTokenPair'), 'the application\'s own, and the package\'s namespaced')
  t.same(document.paths['/api/token/revoke-all/']?.post?.security, [{ bearerAuth: [] }], 'protected routes name the application\'s scheme')
  t.notMatch(output(), access, 'no token in the logs')
})
