// The built process entry (dist/src/server.js, built by `npm test`'s pretest): start-up failures are
// one line on stderr with exit code 1; a good environment serves real HTTP and SIGTERM closes it.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { TEST_KEY, testDatabase } from '../helper.js'
import { TEST_DATABASE_URL } from '../setup/databases.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const SERVER = join(ROOT, 'dist', 'src', 'server.js')
const STARTUP_MS = 60_000

if (!existsSync(SERVER)) t.bailout(`${SERVER} is missing: run \`npm run build\` first (npm test does)`)

const scratch = await mkdtemp(join(tmpdir(), 'fsj-server-'))
t.teardown(() => rm(scratch, { recursive: true, force: true }))

interface Exit { code: number | null, signal: NodeJS.Signals | null }

class ServerProcess {
  readonly child: ChildProcess
  stdout = ''
  stderr = ''
  readonly exited: Promise<Exit>
  private readonly waiters: Array<() => void> = []

  constructor (env: Record<string, string>) {
    // A clean environment: nothing inherited from the test runner (NODE_OPTIONS, DATABASE_URL, NODE_ENV…).
    this.child = spawn(process.execPath, [SERVER], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', DATA_DIR: join(scratch, 'unused-data'), ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    this.child.stdout?.on('data', (chunk: Buffer) => { this.stdout += chunk.toString('utf8'); this.wake() })
    this.child.stderr?.on('data', (chunk: Buffer) => { this.stderr += chunk.toString('utf8'); this.wake() })
    this.exited = new Promise(resolve => this.child.once('exit', (code, signal) => { this.wake(); resolve({ code, signal }) }))
  }

  private wake (): void {
    for (const wake of this.waiters.splice(0)) wake()
  }

  get running (): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  /** Resolves true once stdout satisfies `predicate`; false when the process exits or time runs out first. */
  async until (predicate: (stdout: string) => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms
    while (!predicate(this.stdout)) {
      if (!this.running || Date.now() > deadline) return false
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, 250)
        this.waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
    return true
  }

  /** The exit, or undefined when it has not happened within `ms`. */
  async exit (ms: number): Promise<Exit | undefined> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<undefined>(resolve => { timer = setTimeout(() => resolve(undefined), ms) })
    try {
      return await Promise.race([this.exited, timeout])
    } finally {
      clearTimeout(timer)
    }
  }
}

function start (t: { teardown: (fn: () => unknown) => void }, env: Record<string, string>): ServerProcess {
  const server = new ServerProcess(env)
  t.teardown(async () => {
    if (server.running) {
      server.child.kill('SIGKILL')
      await server.exited
    }
  })
  return server
}

async function listenOnFreePort (): Promise<Server> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return server
}

/** A port nobody listens on: taken from the OS with port 0, then released. */
async function freePort (): Promise<number> {
  const server = await listenOnFreePort()
  const { port } = server.address() as { port: number }
  await new Promise(resolve => server.close(resolve))
  return port
}

/** A database for a server that must start: memory:// on PGlite, a fresh migrated database on PostgreSQL. */
async function databaseUrl (t: { teardown: (fn: () => unknown) => void }): Promise<string> {
  if (TEST_DATABASE_URL === undefined) return 'memory://'
  return (await testDatabase(t)).url as string
}

/** Runs a server that must fail at start-up; returns its exit and output. */
async function failing (t: { teardown: (fn: () => unknown) => void }, env: Record<string, string>) {
  const server = start(t, env)
  const exit = await server.exit(STARTUP_MS)
  return { exit, stdout: server.stdout, stderr: server.stderr }
}

t.test('a bad ACCESS_TOKEN_LIFETIME: exit 1, one line naming it, no stack trace', async t => {
  const run = await failing(t, { ACCESS_TOKEN_LIFETIME: 'forever' })
  t.strictSame(run.exit, { code: 1, signal: null })
  t.equal(run.stderr, 'fastify-simplejwt: invalid configuration: ACCESS_TOKEN_LIFETIME: must be a duration such as 300, 300s, 5m, 1h or 1d (got "forever")\n')
  t.notMatch(run.stderr, '    at ')
  t.equal(run.stdout, '')
})

t.test('NODE_ENV=production without a key: exit 1, one line', async t => {
  const run = await failing(t, { NODE_ENV: 'production' })
  t.strictSame(run.exit, { code: 1, signal: null })
  t.equal(run.stderr, 'fastify-simplejwt: invalid configuration: JWT_SIGNING_KEY: is required when NODE_ENV=production (or set JWT_SIGNING_KEY_FILE)\n')
  t.notMatch(run.stderr, '    at ')
  t.equal(run.stdout, '')
})

t.test('NODE_ENV=production with a weak key: exit 1, one line, the key not echoed', async t => {
  const run = await failing(t, { NODE_ENV: 'production', JWT_SIGNING_KEY: 'too-short-secret' })
  t.strictSame(run.exit, { code: 1, signal: null })
  t.equal(run.stderr, 'fastify-simplejwt: invalid configuration: JWT_SIGNING_KEY: an HS256 key must be at least 32 bytes when NODE_ENV=production (got 16)\n')
  t.notMatch(run.stderr, 'too-short-secret')
})

t.test('an unreachable database: exit 1, one line, password hidden', async t => {
  const port = await freePort()
  const run = await failing(t, { DATABASE_URL: `postgres://admin:hunter2@127.0.0.1:${port}/auth`, JWT_SIGNING_KEY: TEST_KEY })
  t.strictSame(run.exit, { code: 1, signal: null })
  t.equal(run.stderr, `fastify-simplejwt: cannot connect to the database at postgres://admin:***@127.0.0.1:${port}/auth (ECONNREFUSED)\n`)
  t.notMatch(run.stderr, '    at ')
})

t.test('an embedded database locked by a live process: exit 1, one line', async t => {
  const dataDir = join(scratch, 'locked')
  await mkdir(dataDir)
  await writeFile(join(dataDir, 'fastify-simplejwt.lock'), String(process.pid))
  const run = await failing(t, { DATA_DIR: dataDir, JWT_SIGNING_KEY: TEST_KEY })
  t.strictSame(run.exit, { code: 1, signal: null })
  t.equal(run.stderr, `fastify-simplejwt: the embedded database in ${dataDir} is in use by process ${process.pid}; stop it first, or use DATABASE_URL=postgres://… to share a database\n`)
  t.notMatch(run.stderr, '    at ')
})

t.test('a good environment serves HTTP, and SIGTERM closes it with exit 0', async t => {
  const port = await freePort()
  const server = start(t, { DATABASE_URL: await databaseUrl(t), PORT: String(port), JWT_SIGNING_KEY: TEST_KEY, LOG_LEVEL: 'info' })
  const listening = await server.until(out => out.includes(`Server listening at http://127.0.0.1:${port}`), STARTUP_MS)
  t.ok(listening, 'it logs that it listens')
  if (!listening) {
    t.comment(`stdout: ${server.stdout}\nstderr: ${server.stderr}`)
    return
  }

  const res = await fetch(`http://127.0.0.1:${port}/api/hello/`)
  t.equal(res.status, 401)
  t.equal(res.headers.get('www-authenticate'), 'Bearer realm="api"')
  t.strictSame(await res.json(), { detail: 'Authentication credentials were not provided.' })

  const sentAt = Date.now()
  server.child.kill('SIGTERM')
  const exit = await server.exit(10_000)
  t.strictSame(exit, { code: 0, signal: null }, 'exit code 0')
  t.ok(Date.now() - sentAt < 5000, `closed within 5 s (took ${Date.now() - sentAt} ms)`)
  t.equal(server.stderr, '', 'nothing on stderr')
  const lines = server.stdout.trim().split('\n').map(line => JSON.parse(line) as { msg: string, signal?: string })
  t.match(lines.at(-1), { msg: 'closing', signal: 'SIGTERM' })
  t.notMatch(server.stdout, TEST_KEY, 'the key is never logged')
})

t.test('a port already taken: exit 1, one line', async t => {
  const taken = await listenOnFreePort()
  t.teardown(() => new Promise(resolve => taken.close(resolve)))
  const { port } = taken.address() as { port: number }
  const server = start(t, { DATABASE_URL: await databaseUrl(t), PORT: String(port), JWT_SIGNING_KEY: TEST_KEY, LOG_LEVEL: 'silent' })
  const exit = await server.exit(STARTUP_MS)
  t.strictSame(exit, { code: 1, signal: null })
  t.equal(server.stderr, `fastify-simplejwt: cannot listen on 127.0.0.1:${port} (EADDRINUSE)\n`)
  t.notMatch(server.stderr, '    at ')
})
