// Issue 15, finding 8: a failed query's error carries its parameters (Drizzle's DrizzleQueryError in
// `params` and in its message, postgres.js in `parameters`, PGlite in `params`), and the server
// logged them, a password hash among them. Forced here for real: a CHECK constraint makes writing an
// argon2 hash fail, so that a login that rehashes a legacy hash, and the CLI's createuser, fail with
// the new hash in the query. Neither the log nor the CLI's error may show it.
import t from 'tap'
import { inspect } from 'node:util'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import { sql } from 'drizzle-orm'
import appPlugin, { serverOptions } from '../../src/app.js'
import { runCli } from '../../src/cli.js'
import { redactQueryParameters } from '../../src/db/redact.js'
import { cliDatabase, createUser, testConfig, testDatabase } from '../helper.js'

// Django's MD5PasswordHasher for 'underoos2': a legacy hash, rehashed to argon2id at the next login.
const LEGACY = 'md5$salt$6452231364a9f2b39863675148fc68a1'
const NO_ARGON2 = sql.raw('alter table simplejwt.users add constraint no_argon2 check (password not like \'argon2%\') not valid')
/** Any argon2 hash as stored (Django's `argon2$argon2id$…`), or the legacy one. */
const HASH = /argon2\$argon2id\$|md5\$salt\$/

t.test('a query that fails with a password hash among its parameters: the server error is logged without them', async t => {
  const database = await testDatabase(t)
  const lines: string[] = []
  const config = testConfig({ LOG_LEVEL: 'info' })
  const server = Fastify({ ...serverOptions(config), logger: { level: 'info', stream: { write: (line: string) => { lines.push(line) } } } })
  await server.register(fp(appPlugin), { config, database })
  await server.ready()
  t.teardown(() => server.close())

  await createUser(server, { username: 'mj' })
  await server.simplejwt.db.execute(sql`update simplejwt.users set password = ${LEGACY} where username = 'mj'`)
  await server.simplejwt.db.execute(NO_ARGON2)
  server.simplejwt.userCache.clear()

  const res = await server.inject({ method: 'POST', url: '/api/token/', payload: { username: 'mj', password: 'underoos2' } })
  t.equal(res.statusCode, 500, 'the rehash failed')
  t.same(res.json(), { detail: 'A server error occurred.' })
  const logged = lines.filter(line => line.includes('server error'))
  t.equal(logged.length, 1, 'the fault is logged')
  t.match(logged[0], /Failed query: update/, 'with its query')
  t.match(logged[0], /\[redacted\]/, 'and its parameters redacted')
  t.notMatch(lines.join('\n'), HASH, 'no hash anywhere in the log')
  t.notOk(lines.some(line => line.includes('underoos2')), 'nor the password')
})

t.test('the CLI: a failed insert\'s error shows no parameter', async t => {
  const scratch = await mkdtemp(join(tmpdir(), 'fsj-redact-'))
  t.teardown(() => rm(scratch, { recursive: true, force: true }))
  const { env, openAppDatabase } = await cliDatabase(t, join(scratch, 'data'))
  const run = async (argv: string[], input?: string) => {
    const stdin = new PassThrough()
    if (input !== undefined) stdin.end(input)
    const [stdout, stderr] = [new PassThrough(), new PassThrough()]
    let text = ''
    stderr.on('data', (chunk: Buffer) => { text += chunk.toString('utf8') })
    stdout.resume()
    const result = await runCli(argv, { env, stdin, stdout, stderr }).then(code => ({ code, err: undefined }), (err: unknown) => ({ code: undefined, err }))
    return { ...result, stderr: text }
  }
  t.equal((await run(['migrate'])).code, 0)
  const db = await openAppDatabase()
  try {
    await db.db.execute(NO_ARGON2)
  } finally {
    await db.close()
  }

  const { err, stderr } = await run(['createuser', 'peter', '--password-stdin'], 'tiger-lily-01\n')
  t.ok(err instanceof Error, 'an unexpected error leaves runCli')
  // What src/cli.ts prints for it, and what a debugger or a crash report would show.
  const shown = [`Error: ${(err as Error).message}`, (err as Error).stack ?? '', inspect(err, { depth: 10 }), JSON.stringify(err), stderr].join('\n')
  t.match(shown, /Failed query: insert/, 'the query is named')
  t.match(shown, /params: \[redacted\]/)
  t.notMatch(shown, HASH, 'no hash')
  t.notOk(shown.includes('tiger-lily-01'), 'nor the password')
})

t.test('redactQueryParameters: the properties, the message and the stack, through every cause; nothing else', async t => {
  const driver = Object.assign(new Error('new row violates check constraint'), { code: '23514', detail: 'Failing row contains (1, argon2$argon2id$v=19$secret).' })
  Object.defineProperty(driver, 'parameters', { value: ['argon2$argon2id$v=19$secret'], enumerable: false })
  Object.defineProperty(driver, 'args', { value: ['argon2$argon2id$v=19$secret'], enumerable: false })
  class DrizzleQueryError extends Error {
    constructor (readonly query: string, readonly params: unknown[], cause: unknown) {
      super(`Failed query: ${query}\nparams: ${params.join(',')}`, { cause })
    }
  }
  const wrapped = new TypeError('wrapper', { cause: new DrizzleQueryError('insert into users values ($1, $2)', ['peter', 'argon2$argon2id$v=19$secret'], driver) })
  const clean = redactQueryParameters(wrapped)
  t.ok(clean instanceof TypeError, 'the same class')
  t.not(clean, wrapped, 'a copy: the error itself is left as it was')
  const inner = clean.cause as DrizzleQueryError & { cause: Error & { code: string, parameters: unknown } }
  t.ok(inner instanceof DrizzleQueryError)
  t.equal(inner.message, 'Failed query: insert into users values ($1, $2)\nparams: [redacted]')
  t.match(inner.stack, /^Error: Failed query: insert into users values \(\$1, \$2\)\nparams: \[redacted\]\n {4}at /)
  t.equal(inner.params, '[redacted]')
  t.equal(inner.cause.code, '23514', 'the driver\'s code is kept')
  t.equal((inner.cause as unknown as { detail: string }).detail, '[redacted]', 'PostgreSQL\'s DETAIL quotes the row')
  t.equal(inner.cause.parameters, '[redacted]')
  t.notOk(Object.keys(inner.cause).includes('parameters'), 'non-enumerable stays non-enumerable')
  t.notMatch(inspect(clean, { depth: 10, showHidden: true }), /secret/)
  t.match((wrapped.cause as DrizzleQueryError).message, /secret/, 'the original is untouched')
  t.equal(redactQueryParameters('text'), 'text')
  const plain = new Error('no query here')
  t.equal(redactQueryParameters(plain).message, 'no query here')
})
