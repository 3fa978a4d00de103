// The generators frontend developers use, on the service's own document (GET /docs/json): clients made by
// @hey-api/openapi-ts and by orval are typechecked with the repository's TypeScript, then run the
// tutorial against the real service on a real socket (obtain a pair, hello, refresh, verify, and a 401
// typed as the named TokenError), beside the openapi-typescript client of test/e2e/client.test.ts.
// Both generators need Node >= 22.18: they run on this Node when it is recent enough, otherwise on a
// Node 22 or 24 from CI's cache (.ci/run's node_bin); without one the test is skipped, except in CI.
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import type { AddressInfo } from 'node:net'
import { build, createUser } from '../helper.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
/** The oldest Node both generators run on (their `engines`). */
const GENERATOR_NODE = [22, 18]
/** Bounds every spawned command: a generator, tsc, a client run. */
const SPAWN_TIMEOUT_MS = 120_000

interface Run { stdout: string, stderr: string }

/** Runs a command with a time limit; rejects with its output when it fails or outlasts the limit. */
function run (command: string, args: string[], options: { cwd: string, env?: NodeJS.ProcessEnv }): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { ...options, timeout: SPAWN_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${[command, ...args].join(' ')} failed (${err.killed ? `killed after ${SPAWN_TIMEOUT_MS} ms` : `exit ${String(err.code)}`}):\n${stdout}\n${stderr}`))
      else resolve({ stdout, stderr })
    })
  })
}

function recentEnough (version: string): boolean {
  const [major, minor] = version.replace(/^v/, '').split('.').map(Number)
  return major > GENERATOR_NODE[0] || (major === GENERATOR_NODE[0] && minor >= GENERATOR_NODE[1])
}

/** A Node the generators run on: this one, or one that .ci/run installed into its cache. */
async function generatorNode (): Promise<string | undefined> {
  if (recentEnough(process.version)) return process.execPath
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64'
  const cache = process.env.NODE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'fastify-simplejwt', 'node')
  for (const major of ['22', '24']) {
    const node = join(cache, major, 'node_modules', `node-linux-${arch}`, 'bin', 'node')
    if (!existsSync(node)) continue
    const { stdout } = await run(node, ['--version'], { cwd: ROOT })
    if (recentEnough(stdout.trim())) return node
  }
  return undefined
}

/** The tutorial through @hey-api/openapi-ts's default client (its fetch client, bundled in the output). */
const HEY_API_FLOW = `import { client } from './heyapi/client.gen.js'
import { hello, obtainTokenPair, refreshToken, verifyToken } from './heyapi/index.js'
import type { Hello, HelloErrors, RefreshedTokens, TokenError, TokenPair, VerifyTokenErrors } from './heyapi/index.js'
import { type Equal, record, type TokenErrorCode } from './flow.js'

// The 401 of every operation is the one named TokenError, its code the documented codes.
export const typed: [Equal<HelloErrors[401], TokenError>, Equal<VerifyTokenErrors[401], TokenError>, Equal<NonNullable<TokenError['code']>, TokenErrorCode>] = [true, true, true]

client.setConfig({ baseUrl: process.argv[2] })
// A result has no response only when the request itself failed (the service unreachable).
const status = (result: { response?: Response }) => result.response?.status ?? 0
const bearer = (token: string) => ({ Authorization: \`Bearer \${token}\` })

const obtained = await obtainTokenPair({ body: { username: 'spiderman', password: 'underoos' } })
const pair: TokenPair | undefined = obtained.data
if (pair === undefined) throw new Error(\`obtain: \${status(obtained)}\`)
record('obtain', status(obtained), Object.keys(pair).sort())
const greeted = await hello({ headers: bearer(pair.access) })
const greeting: Hello | undefined = greeted.data
record('hello', status(greeted), greeting)
const refreshed = await refreshToken({ body: { refresh: pair.refresh } })
const tokens: RefreshedTokens | undefined = refreshed.data
if (tokens === undefined) throw new Error(\`refresh: \${status(refreshed)}\`)
record('refresh', status(refreshed), Object.keys(tokens).sort())
record('hello with the new access token', status(await hello({ headers: bearer(tokens.access) })), undefined)
const verified = await verifyToken({ body: { token: tokens.access } })
record('verify', status(verified), verified.data)
const anonymous = await hello()
const unauthenticated: TokenError | undefined = status(anonymous) === 401 ? anonymous.error as HelloErrors[401] : undefined
record('hello without a token', status(anonymous), unauthenticated)
const refused = await verifyToken({ body: { token: 'nonsense' } })
const invalid: TokenError | undefined = status(refused) === 401 ? refused.error as VerifyTokenErrors[401] : undefined
const code: TokenErrorCode | undefined = invalid?.code
record('verify nonsense', status(refused), { detail: invalid?.detail, code })
`

/** The tutorial through orval's fetch client, whose answers are unions narrowed by status. */
const ORVAL_FLOW = `import { hello, obtainTokenPair, refreshToken, verifyToken } from './orval/api.js'
import type { helloResponse401, TokenError, TokenErrorCode as OrvalCode, verifyTokenResponse401 } from './orval/api.js'
import { type Equal, record, type TokenErrorCode } from './flow.js'

export const typed: [Equal<helloResponse401['data'], TokenError>, Equal<verifyTokenResponse401['data'], TokenError>, Equal<OrvalCode, TokenErrorCode>] = [true, true, true]

// orval's fetch client calls the document's paths as they are (servers: '/'): a page of the same
// origin would; a program resolves them against the service.
const fetchFromPage = globalThis.fetch
globalThis.fetch = async (input, init) => fetchFromPage(typeof input === 'string' ? new URL(input, process.argv[2]) : input, init)
const bearer = (token: string) => ({ headers: { Authorization: \`Bearer \${token}\` } })

const obtained = await obtainTokenPair({ username: 'spiderman', password: 'underoos' })
if (obtained.status !== 200) throw new Error(\`obtain: \${obtained.status}\`)
const pair = obtained.data
record('obtain', obtained.status, Object.keys(pair).sort())
const greeted = await hello(bearer(pair.access))
record('hello', greeted.status, greeted.data)
const refreshed = await refreshToken({ refresh: pair.refresh })
if (refreshed.status !== 200) throw new Error(\`refresh: \${refreshed.status}\`)
record('refresh', refreshed.status, Object.keys(refreshed.data).sort())
record('hello with the new access token', (await hello(bearer(refreshed.data.access))).status, undefined)
const verified = await verifyToken({ token: refreshed.data.access })
record('verify', verified.status, verified.data)
const anonymous = await hello()
const unauthenticated: TokenError | undefined = anonymous.status === 401 ? anonymous.data : undefined
record('hello without a token', anonymous.status, unauthenticated)
const refused = await verifyToken({ token: 'nonsense' })
const invalid: TokenError | undefined = refused.status === 401 ? refused.data : undefined
const code: TokenErrorCode | undefined = invalid?.code
record('verify nonsense', refused.status, { detail: invalid?.detail, code })
`

/** What both flows share: a type equality, the documented codes, and one JSON line per step. */
const FLOW = `export type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
export type TokenErrorCode = 'token_not_valid' | 'no_active_account' | 'bad_authorization_header' | 'user_not_found' | 'user_inactive'
export function record (step: string, status: number, body: unknown): void {
  process.stdout.write(JSON.stringify({ step, status, body }) + '\\n')
}
`

/** Each flow's steps, as the service answers them. */
const EXPECTED = [
  { step: 'obtain', status: 200, body: ['access', 'refresh'] },
  { step: 'hello', status: 200, body: { msg: 'Hello Peter Parker' } },
  { step: 'refresh', status: 200, body: ['access'] },
  { step: 'hello with the new access token', status: 200 },
  { step: 'verify', status: 200, body: {} },
  { step: 'hello without a token', status: 401, body: { detail: 'Authentication credentials were not provided.' } },
  { step: 'verify nonsense', status: 401, body: { detail: 'Token is invalid or expired', code: 'token_not_valid' } }
]

async function generatedClients (node: string): Promise<void> {
  const app = await build(t)
  await createUser(app)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  const baseUrl = `http://127.0.0.1:${port}`

  const dir = mkdtempSync(join(tmpdir(), 'fsj-generators-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  // The document as a frontend developer downloads it.
  const document = await fetch(`${baseUrl}/docs/json`)
  t.equal(document.status, 200)
  const documentFile = join(dir, 'openapi.json')
  writeFileSync(documentFile, await document.text())

  // The generators with their default configuration, but for orval's client (see below); in the
  // temporary folder, so that no configuration file of the repository is picked up.
  const env = { ...process.env, PATH: `${dirname(node)}:${process.env.PATH ?? ''}` }
  const bin = (name: string) => realpathSync(join(ROOT, 'node_modules', '.bin', name))
  await t.resolves(run(node, [bin('openapi-ts'), '-i', documentFile, '-o', join(dir, 'heyapi')], { cwd: dir, env }), '@hey-api/openapi-ts generates a client')
  // orval's default client is axios, which this repository does not install, and whose functions
  // type no error body; its fetch client needs nothing and types every documented answer.
  await t.resolves(run(node, [bin('orval'), '--input', documentFile, '--output', join(dir, 'orval', 'api.ts'), '--client', 'fetch'], { cwd: dir, env }), 'orval generates a client')

  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }))
  writeFileSync(join(dir, 'flow.ts'), FLOW)
  writeFileSync(join(dir, 'heyapi-flow.ts'), HEY_API_FLOW)
  writeFileSync(join(dir, 'orval-flow.ts'), ORVAL_FLOW)
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'es2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      lib: ['es2022', 'dom', 'dom.iterable'],
      strict: true,
      skipLibCheck: true,
      noEmitOnError: true,
      types: ['node'],
      typeRoots: [join(ROOT, 'node_modules', '@types')],
      rootDir: '.',
      outDir: 'out'
    },
    include: ['*.ts', 'heyapi/**/*.ts', 'orval/**/*.ts']
  }))
  mkdirSync(join(dir, 'out'), { recursive: true })

  await t.test('both generated clients typecheck, with the 401 typed as TokenError', async t => {
    // The repository's TypeScript, strict: a wrong type in a generated client or a flow fails here.
    await t.resolves(run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], { cwd: dir }))
  })

  for (const [name, flow] of [['@hey-api/openapi-ts', 'heyapi-flow.js'], ['orval', 'orval-flow.js']]) {
    await t.test(`the tutorial through the ${name} client: obtain, hello, refresh, verify, a typed 401`, async t => {
      const compiled = join(dir, 'out', flow)
      if (!existsSync(compiled)) return t.fail(`${flow} was not compiled`)
      const { stdout } = await run(process.execPath, [compiled, baseUrl], { cwd: dir })
      const steps = stdout.trim().split('\n').map(line => JSON.parse(line) as { step: string, status: number, body?: unknown })
      t.same(steps, EXPECTED)
    })
  }
  t.ok(JSON.parse(readFileSync(documentFile, 'utf8')).components.schemas.TokenError, 'the document names TokenError')
}

const node = await generatorNode()
if (node === undefined) {
  const reason = `@hey-api/openapi-ts and orval need Node >= ${GENERATOR_NODE.join('.')}; this is ${process.version}, and CI's cache has no Node 22 or 24`
  // In CI the generated clients are part of the contract: a missing Node fails rather than skips.
  if (process.env.CI === 'true') t.fail(reason)
  else t.plan(0, reason)
} else {
  await generatedClients(node)
}
