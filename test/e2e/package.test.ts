// The package as npm would publish it: `npm pack`, installed into a throwaway application outside the
// repository, which runs examples/app.js (one of its routes protected by the plugin) and is typechecked
// against the tarball's declarations. Nothing here imports the repository's sources.
import { execFile } from 'node:child_process'
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
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

const scratch = await mkdtemp(join(tmpdir(), 'fsj-package-'))
t.teardown(() => rm(scratch, { recursive: true, force: true }))
const appDir = join(scratch, 'app')

t.before(async () => {
  // dist/ is built by `npm test`'s pretest; prepack (the build) would race the other test files.
  const { stdout } = await run(NPM, ['pack', '--json', '--ignore-scripts', '--pack-destination', scratch], { cwd: ROOT })
  const [packed] = JSON.parse(stdout) as Array<{ filename: string, files: Array<{ path: string }> }>
  const files = packed.files.map(f => f.path)
  t.ok(files.includes('dist/src/plugin.js') && files.includes('dist/src/plugin.d.ts'), 'the entry point and its types are packed')
  t.ok(files.includes('drizzle/meta/_journal.json'), 'the migrations are packed')
  t.notOk(files.some(f => f.startsWith('test/') || f.startsWith('src/') || f.endsWith('.tsbuildinfo')), 'no tests, sources or build state')

  const version = async (name: string) => (JSON.parse(await readFile(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
  await run('mkdir', ['-p', appDir])
  await writeFile(join(appDir, 'package.json'), JSON.stringify({ name: 'throwaway-app', private: true, type: 'module' }))
  // From npm's cache where it can: CI has just installed the same versions.
  await run(NPM, ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', '--loglevel=error',
    join(scratch, packed.filename), `fastify@${await version('fastify')}`,
    // The example falls back to an in-memory embedded database: PGlite, an optional peer, installed by the application.
    `@electric-sql/pglite@${await version('@electric-sql/pglite')}`], { cwd: appDir, timeout: 150_000 })
  await copyFile(join(ROOT, 'examples', 'app.js'), join(appDir, 'app.js'))
})

t.test('the example application runs the tutorial on the installed package', async t => {
  const databaseUrl = await emptyDatabaseUrl(fn => t.teardown(fn))
  const { base, output } = await spawnApp(t, appDir, 'app.js', { PORT: '0', JWT_SIGNING_KEY: TEST_KEY, ...(databaseUrl === undefined ? {} : { DATABASE_URL: databaseUrl }) })
  if (base === undefined) return t.fail(`the example did not start:\n${output()}`)

  const post = (path: string, body: unknown) => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const login = await post('/api/token/', { username: 'spiderman', password: 'underoos' })
  t.equal(login.status, 200, 'POST /api/token/')
  const { access, refresh } = await login.json() as { access: string, refresh: string }

  const hello = await fetch(`${base}/api/hello/`, { headers: { authorization: `Bearer ${access}` } })
  t.same([hello.status, await hello.json()], [200, { msg: 'Hello Peter Parker' }], 'the application\'s own route, with a token')
  const anonymous = await fetch(`${base}/api/hello/`)
  t.same([anonymous.status, await anonymous.json()], [401, { detail: 'Authentication credentials were not provided.' }], 'and without one')
  t.equal(anonymous.headers.get('www-authenticate'), 'Bearer realm="api"')

  const refreshed = await post('/api/token/refresh/', { refresh })
  t.equal(refreshed.status, 200, 'POST /api/token/refresh/')
  const next = await refreshed.json() as { access: string }
  const verified = await post('/api/token/verify/', { token: next.access })
  t.same([verified.status, await verified.json()], [200, {}], 'POST /api/token/verify/')
  const again = await fetch(`${base}/api/hello/`, { headers: { authorization: `Bearer ${next.access}` } })
  t.equal(again.status, 200, 'the refreshed access token works')
  t.notMatch(output(), access, 'no token in the logs')
})

t.test('a TypeScript application typechecks against the package\'s declarations', async t => {
  await writeFile(join(appDir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, skipLibCheck: true },
    files: ['typed.ts']
  }))
  await writeFile(join(appDir, 'typed.ts'), `
import Fastify from 'fastify'
import simplejwt, { securitySchemes, type SimpleJwtOptions } from 'fastify-simplejwt'
import 'fastify-simplejwt/augment'

const app = Fastify()
const options: SimpleJwtOptions = { prefix: '/auth', database: 'memory://', ACCESS_TOKEN_LIFETIME: '5m', ROTATE_REFRESH_TOKENS: true, AUTH_TOKEN_CLASSES: ['access'] }
await app.register(simplejwt, options)
app.get('/me', { onRequest: app.authenticate }, async (request) => {
  const name: string = request.user.firstName
  const staff: boolean = request.user.isStaff
  return { name, staff, claims: request.user.claims }
})
const found = await app.simplejwt.users.findByUsername('spiderman')
export const id: number | undefined = found?.id
export const scheme: string = securitySchemes.bearerAuth.scheme
// @ts-expect-error a setting of the wrong type
export const wrong: SimpleJwtOptions = { ROTATE_REFRESH_TOKENS: 'yes' }
// @ts-expect-error request.user has no such field
app.get('/nope', { onRequest: app.authenticate }, async (request) => request.user.nickname)
`)
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
  const result = await run(process.execPath, [tsc, '-p', appDir], { cwd: appDir }).then(() => ({ ok: true, out: '' }), (err: { stdout: string }) => ({ ok: false, out: err.stdout }))
  t.ok(result.ok, `tsc: ${result.out}`)
})
