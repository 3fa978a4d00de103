// The CLI's revocations reach the service: changepassword and deactivation cut off every earlier token.
import t from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { runCli } from '../../src/cli.js'
import { openDatabase, type Database } from '../../src/db/client.js'
import { bearer, build, Clock, createUser, obtainPair, testDatabase } from '../helper.js'
import { TEST_DATABASE_URL } from '../setup/databases.js'

// The CLI stamps its cut-off with the real time, so the app's clock follows the real one here:
// tokens are minted two seconds in the past, and checked one second in the future.
const clock = new Clock(Date.now())
const minting = () => { clock.ms = Date.now() - 2000 }
const checking = () => { clock.ms = Date.now() + 1000 }
const settings = { ROTATE_REFRESH_TOKENS: true, BLACKLIST_AFTER_ROTATION: true }

// On PostgreSQL the app and the CLI share a database; PGlite allows one opener at a time, so the
// app is closed while the CLI runs and reopened after.
let env: Record<string, string>
let open: () => Promise<Database>
if (TEST_DATABASE_URL !== undefined) {
  const { url } = await testDatabase(t)
  env = { DATABASE_URL: url as string }
  open = () => openDatabase(url, { dataDir: '' })
} else {
  const dataDir = await mkdtemp(join(tmpdir(), 'fsj-cli-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  env = { DATA_DIR: dataDir }
  open = async () => {
    const database = await openDatabase(undefined, { dataDir })
    await database.migrate()
    return database
  }
}

async function cli (...argv: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  const stdin = new PassThrough()
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  stdin.end('new-underoos\n')
  const code = await runCli(argv, { env: { ...env, LOG_LEVEL: 'silent' }, stdin, stdout, stderr })
  return { code, stdout: stdout.read()?.toString() ?? '', stderr: stderr.read()?.toString() ?? '' }
}

/** Runs `body` on an app over the shared database, closing both when done. */
async function withApp<T> (body: (app: FastifyInstance) => Promise<T>): Promise<T> {
  const database = await open()
  const scope = { teardowns: [] as Array<() => unknown>, teardown (fn: () => unknown) { this.teardowns.push(fn) } }
  try {
    return await body(await build(scope, settings, { database, clock }))
  } finally {
    for (const fn of scope.teardowns.reverse()) await fn()
    await database.close()
  }
}

t.test('changepassword revokes every earlier token; the new password works', async t => {
  const before = await withApp(async app => {
    await createUser(app)
    minting()
    return obtainPair(app)
  })
  const changed = await cli('changepassword', 'spiderman', '--password-stdin')
  t.equal(changed.code, 0, changed.stderr)
  t.match(changed.stdout, /Password changed for user "spiderman"/)

  await withApp(async app => {
    checking()
    const hello = await app.inject({ method: 'GET', url: '/api/hello/', headers: bearer(before.access) })
    t.equal(hello.statusCode, 401)
    t.equal(hello.json().messages[0].message, 'Token is blacklisted')
    const refreshed = await app.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh: before.refresh } })
    t.same(refreshed.json(), { detail: 'Token is blacklisted', code: 'token_not_valid' })
    t.equal((await app.inject({ method: 'POST', url: '/api/token/', payload: { username: 'spiderman', password: 'underoos' } })).statusCode, 401)
    const fresh = await obtainPair(app, 'spiderman', 'new-underoos')
    t.same((await app.inject({ method: 'GET', url: '/api/hello/', headers: bearer(fresh.access) })).json(), { msg: 'Hello Peter Parker' })
  })
})

t.test('setactive false cuts off tokens; reactivation does not bring them back', async t => {
  const before = await withApp(async app => {
    minting()
    return obtainPair(app, 'spiderman', 'new-underoos')
  })
  t.equal((await cli('setactive', 'spiderman', 'false')).code, 0)
  t.equal((await cli('setactive', 'spiderman', 'true')).code, 0)
  await withApp(async app => {
    checking()
    const hello = await app.inject({ method: 'GET', url: '/api/hello/', headers: bearer(before.access) })
    t.equal(hello.json().messages[0].message, 'Token is blacklisted')
    const verify = await app.inject({ method: 'POST', url: '/api/token/verify/', payload: { token: before.access } })
    t.equal(verify.statusCode, 401)
    t.equal((await app.inject({ method: 'POST', url: '/api/token/', payload: { username: 'spiderman', password: 'new-underoos' } })).statusCode, 200)
  })
})

t.test('flushexpiredtokens reports and deletes expired rows', async t => {
  await withApp(async app => {
    await app.simplejwt.blacklist.add('old-one', 'logout', new Date(Date.now() - 60_000), new Date(Date.now() - 120_000))
  })
  const flushed = await cli('flushexpiredtokens')
  t.equal(flushed.code, 0, flushed.stderr)
  t.match(flushed.stdout, /Deleted \d+ outstanding and 1 blacklisted tokens, and 0 revoked families, all expired\./)
  const again = await cli('flushexpiredtokens')
  t.match(again.stdout, /Deleted 0 outstanding and 0 blacklisted tokens/)
})
