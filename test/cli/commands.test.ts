// The command line, run in-process on a database of this file's own: the embedded PGlite under a
// temporary DATA_DIR (opened and closed by every command), or PostgreSQL when TEST_DATABASE_URL is set.
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { finished } from 'node:stream/promises'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { runCli, type CliIo } from '../../src/cli.js'
import { verifyPassword } from '../../src/domain/passwords.js'
import { bearer, build, cliDatabase, Clock, obtainPair, type TestLike } from '../helper.js'
import { TEST_DATABASE_URL, withDatabaseName } from '../setup/databases.js'

const USAGE = `Usage: fastify-simplejwt <command> [options]

Commands:
  createuser USERNAME [--first-name NAME] [--last-name NAME] [--email EMAIL]
             [--staff] [--superuser] [--inactive] [--password-stdin]
                              create a user; the password is prompted for (no echo)
                              or read from standard input with --password-stdin
  changepassword USERNAME [--password-stdin]
                              set a user's password
  setactive USERNAME true|false
                              activate or deactivate a user
  listusers                   list every user
  migrate                     apply pending database migrations
  flushexpiredtokens          delete expired outstanding and blacklisted tokens
  keys generate --algorithm ALG
                              print a new signing key (and its public key, kid and JWK)
  import-django FILE [--on-conflict skip|update] [--dry-run] [--harden]
                              import the users of "manage.py dumpdata auth.user" (FILE,
                              or - for standard input) with their ids and password hashes
  import-django FILE --sync [--delete-absent] [--blacklist BLACKLIST] [--dry-run] [--harden]
                              make the users equal to the dump (the cutover's final step):
                              changed users updated, absent ones deactivated (or deleted),
                              their tokens revoked; with --blacklist, Django's blacklist
                              ("dumpdata token_blacklist") in the same transaction
  import-django-blacklist FILE [--dry-run]
                              blacklist here the unexpired tokens that Django's
                              "manage.py dumpdata token_blacklist" (FILE, or -) lists
  export-django [FILE]        write every user as "manage.py dumpdata auth.user" does, with
                              ids and password hashes, for Django's loaddata (FILE, new,
                              mode 0600; standard output without FILE or with -)
  check-django-token TOKEN|-  check that a token Django minted verifies with the configured
                              key, algorithm, audience, issuer and claim names (- reads it
                              from standard input, out of the shell's history)

changepassword and "setactive USERNAME false" also revoke every token the user holds.

The database and every other setting come from the environment (see README.md).
`

const scratch = await mkdtemp(join(tmpdir(), 'fsj-cli-'))
t.teardown(() => rm(scratch, { recursive: true, force: true }))

const LOCK_FILE = 'fastify-simplejwt.lock'
const dataDir = join(scratch, 'data')
const embedded = TEST_DATABASE_URL === undefined
const { env, openAppDatabase } = await cliDatabase(t, dataDir)

/** Standard output or error: a PassThrough whose text the test can read and wait on. */
class Output {
  readonly stream = new PassThrough()
  text = ''
  private readonly waiters: Array<() => void> = []
  constructor () {
    this.stream.on('data', (chunk: Buffer) => {
      this.text += chunk.toString('utf8')
      for (const wake of this.waiters.splice(0)) wake()
    })
  }

  /** Resolves once the text satisfies `predicate`. */
  async until (predicate: (text: string) => boolean): Promise<void> {
    while (!predicate(this.text)) await new Promise<void>(resolve => this.waiters.push(resolve))
  }
}

/** A terminal: `isTTY`, raw mode recorded, keystrokes delivered with `emit('data')`. */
class FakeTty extends PassThrough {
  isTTY = true
  readonly rawModes: boolean[] = []
  setRawMode (mode: boolean): this {
    this.rawModes.push(mode)
    return this
  }
}

interface Run { code: number, stdout: string, stderr: string }

function makeIo (stdin: CliIo['stdin'], extraEnv: Record<string, string | undefined> = {}) {
  const stdout = new Output()
  const stderr = new Output()
  const io: CliIo = { env: { ...env, ...extraEnv }, stdin, stdout: stdout.stream, stderr: stderr.stream }
  return { io, stdout, stderr }
}

async function collect (running: Promise<number>, stdout: Output, stderr: Output): Promise<Run> {
  const code = await running
  stdout.stream.end()
  stderr.stream.end()
  await Promise.all([finished(stdout.stream), finished(stderr.stream)])
  return { code, stdout: stdout.text, stderr: stderr.text }
}

/** Runs one command; `stdin` is piped in (and ended) when given, otherwise stdin stays open and silent. */
async function cli (argv: string[], options: { stdin?: string, env?: Record<string, string | undefined> } = {}): Promise<Run> {
  const stdin = new PassThrough()
  if (options.stdin !== undefined) stdin.end(options.stdin)
  const { io, stdout, stderr } = makeIo(stdin, options.env)
  return collect(runCli(argv, io), stdout, stderr)
}

const PROMPT = /Password(?: \(again\))?: /g
const prompts = (text: string) => text.match(PROMPT)?.length ?? 0

/**
 * Runs one command at a fake terminal. `answers[i]` is typed, chunk by chunk, once the i-th
 * password prompt is on screen; `atPrompt` runs while the command waits at each prompt.
 */
async function interactive (argv: string[], answers: string[][], atPrompt?: (n: number) => void | Promise<void>): Promise<Run & { rawModes: boolean[] }> {
  const stdin = new FakeTty()
  const { io, stdout, stderr } = makeIo(stdin)
  let exited = false
  const running = runCli(argv, io).finally(() => { exited = true })
  for (let i = 0; i < answers.length; i++) {
    await Promise.race([stdout.until(text => prompts(text) > i), running])
    if (exited) break
    // The prompt is written just before the keystroke listener is attached.
    await new Promise(resolve => setImmediate(resolve))
    await atPrompt?.(i + 1)
    for (const chunk of answers[i]) stdin.emit('data', Buffer.from(chunk, 'utf8'))
  }
  return { ...await collect(running, stdout, stderr), rawModes: stdin.rawModes }
}

/** An app on the CLI's database, opened after the CLI has closed it; closed again before returning. */
async function withApp<T> (fn: (app: FastifyInstance) => Promise<T>, clock?: Clock): Promise<T> {
  const teardowns: Array<() => unknown> = []
  const local: TestLike = { teardown: fn => { teardowns.push(fn) } }
  const database = await openAppDatabase()
  try {
    const app = await build(local, {}, { database, clock })
    return await fn(app)
  } finally {
    for (const teardown of teardowns.reverse()) await teardown()
    await database.close()
  }
}

async function login (app: FastifyInstance, username: string, password: string) {
  const res = await app.inject({ method: 'POST', url: '/api/token/', payload: { username, password } })
  return { statusCode: res.statusCode, body: res.json() }
}

const NO_ACCOUNT = { statusCode: 401, body: { detail: 'No active account found with the given credentials' } }
const lockPresent = () => existsSync(join(dataDir, LOCK_FILE))

async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise(resolve => server.close(resolve))
  return port
}

// ---------------------------------------------------------------------------------------------
// No database needed

t.test('help, --help and -h print the usage and succeed', async t => {
  for (const argv of [['help'], ['--help'], ['-h'], ['createuser', '--help']]) {
    t.strictSame(await cli(argv), { code: 0, stdout: USAGE, stderr: '' }, argv.join(' '))
  }
})

t.test('no command prints the usage and exits 2', async t => {
  t.strictSame(await cli([]), { code: 2, stdout: USAGE, stderr: '' })
})

t.test('an unknown command exits 2 with the usage', async t => {
  t.strictSame(await cli(['frobnicate']), { code: 2, stdout: '', stderr: `Error: unknown command "frobnicate"\n${USAGE}` })
  t.strictSame(await cli(['createsuperuser', 'bob']), { code: 2, stdout: '', stderr: `Error: unknown command "createsuperuser"\n${USAGE}` })
})

t.test('an unknown option exits 2 with the usage', async t => {
  const run = await cli(['createuser', 'bob', '--bogus'])
  t.equal(run.code, 2)
  t.equal(run.stdout, '')
  t.match(run.stderr, /^Error: Unknown option '--bogus'\. /)
  t.ok(run.stderr.endsWith(`\n${USAGE}`), 'ends with the usage')
  t.equal(run.stderr.split('\n')[1], USAGE.split('\n')[0], 'one error line, then the usage')

  const missing = await cli(['createuser', 'bob', '--email'])
  t.equal(missing.code, 2)
  t.match(missing.stderr, /^Error: Option '--email <value>' argument missing\n/)
  t.ok(missing.stderr.endsWith(`\n${USAGE}`))

  const flagWithValue = await cli(['createuser', 'bob', '--staff=yes'])
  t.equal(flagWithValue.code, 2)
  t.match(flagWithValue.stderr, /^Error: Option '--staff' does not take an argument\n/)
})

t.test('a missing or bad USERNAME is refused before anything else', async t => {
  t.strictSame(await cli(['createuser', '--password-stdin'], { stdin: 'underoos\n' }),
    { code: 2, stdout: '', stderr: `Error: a USERNAME is required\n${USAGE}` })
  t.strictSame(await cli(['changepassword']), { code: 2, stdout: '', stderr: `Error: a USERNAME is required\n${USAGE}` })
  t.strictSame(await cli(['setactive']), { code: 2, stdout: '', stderr: `Error: a USERNAME is required\n${USAGE}` })
  t.strictSame(await cli(['createuser', '   ']), { code: 2, stdout: '', stderr: `Error: a USERNAME is required\n${USAGE}` })
  t.strictSame(await cli(['createuser', ' bob']),
    { code: 1, stdout: '', stderr: 'Error: the username may not begin or end with whitespace\n' })
  t.strictSame(await cli(['createuser', 'bob smith']),
    { code: 1, stdout: '', stderr: 'Error: the username may contain only letters, digits and @/./+/-/_\n' })
  t.strictSame(await cli(['createuser', 'bob!']),
    { code: 1, stdout: '', stderr: 'Error: the username may contain only letters, digits and @/./+/-/_\n' })
  t.strictSame(await cli(['createuser', 'x'.repeat(151)]),
    { code: 1, stdout: '', stderr: 'Error: the username may not be longer than 150 characters\n' })
})

t.test('a bad configuration is one line naming the variable', async t => {
  t.strictSame(await cli(['listusers'], { env: { ACCESS_TOKEN_LIFETIME: 'forever' } }), {
    code: 1,
    stdout: '',
    stderr: 'Error: invalid configuration: ACCESS_TOKEN_LIFETIME: must be a duration such as 300, 300s, 5m, 1h or 1d (got "forever")\n'
  })
  t.strictSame(await cli(['migrate'], { env: { DATABASE_URL: 'mysql://localhost/db' } }), {
    code: 1,
    stdout: '',
    stderr: 'Error: invalid configuration: DATABASE_URL: must be a postgres:// or postgresql:// URL, or memory:// (got "mysql://localhost/db")\n'
  })
  // The one command that verifies tokens needs the key; the others sign nothing (test/cli/no-key.test.ts).
  t.strictSame(await cli(['check-django-token', '-'], { stdin: 'a.b.c\n', env: { NODE_ENV: 'production' } }), {
    code: 1,
    stdout: '',
    stderr: 'Error: invalid configuration: JWT_SIGNING_KEY: is required when NODE_ENV=production (or set JWT_SIGNING_KEY_FILE)\n'
  })
})

t.test('without a terminal and without --password-stdin there is nobody to ask', async t => {
  t.strictSame(await cli(['createuser', 'bob']), {
    code: 1, stdout: '', stderr: 'Error: no terminal to ask for the password on; pipe it in with --password-stdin\n'
  })
  t.strictSame(await cli(['changepassword', 'bob']), {
    code: 1, stdout: '', stderr: 'Error: no terminal to ask for the password on; pipe it in with --password-stdin\n'
  })
})

t.test('bad passwords from standard input are refused', async t => {
  const cases: Array<[string, string]> = [
    ['', 'the password may not be blank'],
    ['\n', 'the password may not be blank'],
    ['   \n', 'the password may not be blank'],
    ['\t\n', 'the password may not be blank'],
    [' underoos\n', 'the password may not begin or end with whitespace'],
    ['underoos \n', 'the password may not begin or end with whitespace'],
    ['underoos\n\n', 'the password may not begin or end with whitespace'],
    ['under\u0000oos\n', 'the password may not contain NUL characters'],
    [`${'x'.repeat(4097)}\n`, 'the password may not be longer than 4096 characters']
  ]
  for (const [stdin, message] of cases) {
    t.strictSame(await cli(['createuser', 'bob', '--password-stdin'], { stdin }),
      { code: 1, stdout: '', stderr: `Error: ${message}\n` }, JSON.stringify(stdin.slice(0, 20)))
  }
  t.strictSame(await cli(['changepassword', 'bob', '--password-stdin'], { stdin: ' padded \n' }),
    { code: 1, stdout: '', stderr: 'Error: the password may not begin or end with whitespace\n' })
})

t.test('the terminal prompt: mismatched passwords, Ctrl-C and Ctrl-D abort', async t => {
  t.strictSame(await interactive(['createuser', 'bob'], [['underoos\r'], ['underoo\r']]), {
    code: 1,
    stdout: 'Password: \nPassword (again): \n',
    stderr: 'Error: the two passwords differ\n',
    rawModes: [true, false, true, false]
  })
  t.strictSame(await interactive(['createuser', 'bob'], [['under', '\u0003']]), {
    code: 1,
    stdout: 'Password: \n',
    stderr: 'Error: aborted\n',
    rawModes: [true, false]
  })
  t.strictSame(await interactive(['changepassword', 'bob'], [['underoos\r'], ['\u0004']]), {
    code: 1,
    stdout: 'Password: \nPassword (again): \n',
    stderr: 'Error: aborted\n',
    rawModes: [true, false, true, false]
  })
  t.strictSame(await interactive(['createuser', 'bob'], [['\r'], ['\r']]), {
    code: 1,
    stdout: 'Password: \nPassword (again): \n',
    stderr: 'Error: the password may not be blank\n',
    rawModes: [true, false, true, false]
  })
})

t.test('a database that cannot be reached is one line, password hidden', async t => {
  const port = await closedPort()
  t.strictSame(await cli(['listusers'], { env: { DATABASE_URL: `postgres://admin:hunter2@127.0.0.1:${port}/auth` } }), {
    code: 1,
    stdout: '',
    stderr: `Error: cannot connect to the database at postgres://admin:***@127.0.0.1:${port}/auth (ECONNREFUSED)\n`
  })
})

t.test('a PostgreSQL database that does not exist is one line', { skip: embedded && 'needs TEST_DATABASE_URL' }, async t => {
  const name = `fsj_missing_${process.pid}_${Math.random().toString(36).slice(2, 10)}`
  const url = withDatabaseName(TEST_DATABASE_URL as string, name)
  t.strictSame(await cli(['listusers'], { env: { DATABASE_URL: url } }), {
    code: 1,
    stdout: '',
    stderr: `Error: cannot connect to the database at ${url} (3D000)\n`
  })
  const withPassword = new URL(url)
  withPassword.password = 'hunter2'
  const run = await cli(['migrate'], { env: { DATABASE_URL: withPassword.toString() } })
  t.equal(run.code, 1)
  t.equal(run.stdout, '')
  t.match(run.stderr, /^Error: cannot connect to the database at postgres:\/\/[^:]+:\*\*\*@[^\n]+ \([0-9A-Z]+\)\n$/)
  t.notMatch(run.stderr, 'hunter2')
})

t.test('an embedded database locked by another live process is refused clearly', async t => {
  const locked = join(scratch, 'locked')
  await mkdir(locked)
  await writeFile(join(locked, LOCK_FILE), String(process.ppid))
  t.strictSame(await cli(['listusers'], { env: { DATABASE_URL: undefined, DATA_DIR: locked } }), {
    code: 1,
    stdout: '',
    stderr: `Error: the embedded database in ${locked} is in use by process ${process.ppid}; stop it first, or use DATABASE_URL=postgres://… to share a database\n`
  })
  t.equal(await readFile(join(locked, LOCK_FILE), 'utf8'), String(process.ppid), 'the owner\'s lock is left alone')
  t.notOk(existsSync(join(locked, 'PG_VERSION')), 'nothing was created in the locked directory')
})

// ---------------------------------------------------------------------------------------------
// On the database: every command below runs against the same users table, in order.

t.test('migrate applies the migrations, even with MIGRATE_ON_START=false', async t => {
  t.strictSame(await cli(['migrate']), { code: 0, stdout: 'Migrations applied.\n', stderr: '' })
  t.strictSame(await cli(['migrate'], { env: { MIGRATE_ON_START: 'false' } }), { code: 0, stdout: 'Migrations applied.\n', stderr: '' }, 'again: nothing to do')
  if (embedded) t.notOk(lockPresent(), 'the embedded database is closed after the command')
})

t.test('listusers on an empty database prints only the header', async t => {
  t.strictSame(await cli(['listusers']), { code: 0, stdout: 'ID  USERNAME  NAME  EMAIL  ACTIVE  STAFF  SUPERUSER  LAST LOGIN\n', stderr: '' })
})

t.test('createuser with --password-stdin, names and email', async t => {
  t.strictSame(await cli(
    ['createuser', 'spiderman', '--first-name', 'Peter', '--last-name', 'Parker', '--email', 'peter@example.com', '--password-stdin'],
    { stdin: 'underoos\n' }
  ), { code: 0, stdout: 'Created user "spiderman" with id 1.\n', stderr: '' })
  t.strictSame(await cli(['createuser', 'tony', '--staff', '--password-stdin'], { stdin: 'iron-man-mk42\r\n' }),
    { code: 0, stdout: 'Created user "tony" with id 2.\n', stderr: '' })
  t.strictSame(await cli(['createuser', 'nick', '--superuser', '--first-name', 'Nick', '--password-stdin'], { stdin: 'shield-helicarrier' }),
    { code: 0, stdout: 'Created user "nick" with id 3.\n', stderr: '' })
  t.strictSame(await cli(['createuser', 'bruce', '--inactive', '--last-name', 'Banner', '--password-stdin'], { stdin: 'hulk smash\n' }),
    { code: 0, stdout: 'Created user "bruce" with id 4.\n', stderr: '' })
  if (embedded) t.notOk(lockPresent(), 'the embedded database is closed after the command')
})

t.test('createuser with a name that is taken', async t => {
  t.strictSame(await cli(['createuser', 'spiderman', '--password-stdin'], { stdin: 'miles-morales-42\n' }),
    { code: 1, stdout: '', stderr: 'Error: a user named "spiderman" already exists\n' })
  t.strictSame(await cli(['createuser', 'Spiderman', '--password-stdin'], { stdin: 'miles-morales-42\n' }),
    { code: 0, stdout: 'Created user "Spiderman" with id 6.\n', stderr: '' }, 'usernames are case-sensitive, as in Django (id 5 went to the refused insert)')
})

t.test('createuser at the terminal: typed in chunks, with backspace', async t => {
  const run = await interactive(
    ['createuser', 'peter.parker+web@daily_bugle-ny', '--email', 'pp@bugle.example'],
    [['und', 'erx\u007foo', 's\r'], ['underoosX\b\n']],
    async () => {
      if (embedded) t.notOk(lockPresent(), 'the database is not held open while the prompt waits')
    }
  )
  t.strictSame(run, {
    code: 0,
    stdout: 'Password: \nPassword (again): \nCreated user "peter.parker+web@daily_bugle-ny" with id 7.\n',
    stderr: '',
    rawModes: [true, false, true, false]
  })
  t.strictSame(await interactive(['createuser', 'jürgen'], [['pässwörd-🔑\r'], ['pässwörd-🔑\r']]), {
    code: 0,
    stdout: 'Password: \nPassword (again): \nCreated user "jürgen" with id 8.\n',
    stderr: '',
    rawModes: [true, false, true, false]
  })
})

// Tokens obtained before the password change, to check that the change revokes them.
let earlier: { refresh: string, access: string }

t.test('the users the CLI created can log in through the app, as created', async t => {
  // Now: after the CLI created the users (a token from before its user joined is refused), before
  // the password change below (which refuses every token issued in its second or earlier); the access
  // token (5 minutes) is still unexpired when the next test presents it.
  const clock = new Clock(Date.now())
  await withApp(async app => {
    const spiderman = await app.simplejwt.users.findByUsername('spiderman')
    t.match(spiderman, {
      id: 1,
      username: 'spiderman',
      firstName: 'Peter',
      lastName: 'Parker',
      email: 'peter@example.com',
      isActive: true,
      isStaff: false,
      isSuperuser: false,
      lastLogin: null,
      tokensValidAfter: null
    })
    t.match(spiderman?.password, /^argon2\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/)
    t.equal(await verifyPassword(spiderman?.password ?? '', 'underoos'), true)
    t.match(await app.simplejwt.users.findByUsername('tony'), { id: 2, firstName: '', lastName: '', email: '', isActive: true, isStaff: true, isSuperuser: false })
    t.match(await app.simplejwt.users.findByUsername('nick'), { id: 3, firstName: 'Nick', isActive: true, isStaff: true, isSuperuser: true }, '--superuser implies staff')
    t.match(await app.simplejwt.users.findByUsername('bruce'), { id: 4, lastName: 'Banner', isActive: false, isStaff: false, isSuperuser: false })

    earlier = await obtainPair(app, 'spiderman', 'underoos')
    const hello = await app.inject({ method: 'GET', url: '/api/hello/', headers: bearer(earlier.access) })
    t.strictSame({ statusCode: hello.statusCode, body: hello.json() }, { statusCode: 200, body: { msg: 'Hello Peter Parker' } })
    t.equal((await login(app, 'tony', 'iron-man-mk42')).statusCode, 200, 'the CR of CRLF was stripped')
    t.equal((await login(app, 'nick', 'shield-helicarrier')).statusCode, 200, 'no newline at all')
    t.equal((await login(app, 'peter.parker+web@daily_bugle-ny', 'underoos')).statusCode, 200, 'backspaces were applied')
    t.equal((await login(app, 'jürgen', 'pässwörd-🔑')).statusCode, 200)
    t.equal((await login(app, 'Spiderman', 'miles-morales-42')).statusCode, 200)
    t.strictSame(await login(app, 'spiderman', 'miles-morales-42'), NO_ACCOUNT, 'the refused duplicate changed nothing')
    t.strictSame(await login(app, 'bruce', 'hulk smash'), NO_ACCOUNT, '--inactive cannot log in')
    t.strictSame(await login(app, 'bob', 'underoos'), NO_ACCOUNT, 'no refused createuser left a user behind')
  }, clock)
})

t.test('changepassword: the old password stops working, the new one works, earlier tokens die', async t => {
  t.strictSame(await cli(['changepassword', 'spiderman', '--password-stdin'], { stdin: 'with great power\n' }),
    { code: 0, stdout: 'Password changed for user "spiderman"; their earlier tokens are revoked.\n', stderr: '' })
  t.strictSame(await interactive(['changepassword', 'tony'], [['jarvis-friday\r'], ['jarvis-friday\r']]), {
    code: 0,
    stdout: 'Password: \nPassword (again): \nPassword changed for user "tony"; their earlier tokens are revoked.\n',
    stderr: '',
    rawModes: [true, false, true, false]
  })
  await withApp(async app => {
    t.strictSame(await login(app, 'spiderman', 'underoos'), NO_ACCOUNT)
    t.equal((await login(app, 'spiderman', 'with great power')).statusCode, 200)
    t.strictSame(await login(app, 'tony', 'iron-man-mk42'), NO_ACCOUNT)
    t.equal((await login(app, 'tony', 'jarvis-friday')).statusCode, 200)
    t.equal((await login(app, 'Spiderman', 'miles-morales-42')).statusCode, 200, 'a different user is untouched')

    const refresh = await app.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh: earlier.refresh } })
    t.equal(refresh.statusCode, 401)
    t.strictSame(refresh.json(), { detail: 'Token is blacklisted', code: 'token_not_valid' })
    const hello = await app.inject({ method: 'GET', url: '/api/hello/', headers: bearer(earlier.access) })
    t.equal(hello.statusCode, 401)
    t.strictSame(hello.json(), {
      detail: 'Given token not valid for any token type',
      code: 'token_not_valid',
      messages: [{ token_class: 'AccessToken', token_type: 'access', message: 'Token is blacklisted' }]
    })
  })
})

t.test('changepassword for an unknown user', async t => {
  t.strictSame(await cli(['changepassword', 'nobody', '--password-stdin'], { stdin: 'whatever\n' }),
    { code: 1, stdout: '', stderr: 'Error: no user named "nobody"\n' })
  t.strictSame(await cli(['changepassword', 'SPIDERMAN', '--password-stdin'], { stdin: 'whatever\n' }),
    { code: 1, stdout: '', stderr: 'Error: no user named "SPIDERMAN"\n' }, 'case-sensitive')
})

t.test('a weak password is refused with Django\'s messages, one a line, and nothing changes (issue 15)', async t => {
  t.strictSame(await cli(['createuser', 'venom', '--password-stdin'], { stdin: '123456\n' }), {
    code: 1,
    stdout: '',
    stderr: 'Error: This password is too short. It must contain at least 8 characters.\nError: This password is too common.\nError: This password is entirely numeric.\n'
  })
  // The fullwidth name is spiderman once NFKC-normalised: found, and compared with as the username.
  t.strictSame(await cli(['changepassword', 'ｓｐｉｄｅｒｍａｎ', '--password-stdin'], { stdin: 'spiderman1\n' }), {
    code: 1,
    stdout: '',
    stderr: 'Error: The password is too similar to the username.\nError: This password is too common.\n'
  })
  t.strictSame(await cli(['changepassword', 'spiderman', '--password-stdin'], { stdin: 'short\n', env: { PASSWORD_VALIDATORS: 'MinimumLengthValidator', PASSWORD_MIN_LENGTH: '6' } }), {
    code: 1, stdout: '', stderr: 'Error: This password is too short. It must contain at least 6 characters.\n'
  }, 'the settings choose the rules')
  await withApp(async app => {
    t.equal(await app.simplejwt.users.findByUsername('venom'), undefined, 'nobody created')
    t.equal((await login(app, 'spiderman', 'with great power')).statusCode, 200, 'the password is unchanged')
    t.equal((await login(app, 'ｓｐｉｄｅｒｍａｎ', 'with great power')).statusCode, 200, 'a look-alike name logs in as spiderman')
  })
})

t.test('setactive true and false', async t => {
  t.strictSame(await cli(['setactive', 'bruce', 'true']), { code: 0, stdout: 'User "bruce" is now active.\n', stderr: '' })
  t.strictSame(await cli(['setactive', 'nick', 'false']), { code: 0, stdout: 'User "nick" is now inactive.\n', stderr: '' })
  t.strictSame(await cli(['setactive', 'Spiderman', 'false']), { code: 0, stdout: 'User "Spiderman" is now inactive.\n', stderr: '' })
  t.strictSame(await cli(['setactive', 'Spiderman', 'true']), { code: 0, stdout: 'User "Spiderman" is now active.\n', stderr: '' })
  await withApp(async app => {
    t.equal((await login(app, 'bruce', 'hulk smash')).statusCode, 200)
    t.strictSame(await login(app, 'nick', 'shield-helicarrier'), NO_ACCOUNT)
    t.equal((await login(app, 'Spiderman', 'miles-morales-42')).statusCode, 200)
    t.match(await app.simplejwt.users.findByUsername('bruce'), { isActive: true, tokensValidAfter: null }, 'activation revokes nothing')
    t.type((await app.simplejwt.users.findByUsername('nick'))?.tokensValidAfter, Date, 'deactivation sets the cut-off')
  })
})

t.test('setactive with a bad flag or an unknown user', async t => {
  for (const flag of ['yes', 'True', '1', '']) {
    t.strictSame(await cli(['setactive', 'bruce', flag]),
      { code: 2, stdout: '', stderr: 'Error: setactive needs true or false after the USERNAME\n' }, JSON.stringify(flag))
  }
  t.strictSame(await cli(['setactive', 'bruce']),
    { code: 2, stdout: '', stderr: 'Error: setactive needs true or false after the USERNAME\n' })
  t.strictSame(await cli(['setactive', 'nobody', 'true']), { code: 1, stdout: '', stderr: 'Error: no user named "nobody"\n' })
})

t.test('listusers prints every user in a table, by id', async t => {
  const run = await cli(['listusers'])
  t.equal(run.code, 0)
  t.equal(run.stderr, '')
  t.equal(run.stdout, [
    'ID  USERNAME                         NAME          EMAIL              ACTIVE  STAFF  SUPERUSER  LAST LOGIN',
    '1   spiderman                        Peter Parker  peter@example.com  yes     no     no         -',
    '2   tony                                                              yes     yes    no         -',
    '3   nick                             Nick                             no      yes    yes        -',
    '4   bruce                            Banner                           yes     no     no         -',
    '6   Spiderman                                                         yes     no     no         -',
    '7   peter.parker+web@daily_bugle-ny                pp@bugle.example   yes     no     no         -',
    '8   jürgen                                                            yes     no     no         -',
    ''
  ].join('\n'))
  if (embedded) t.notOk(lockPresent(), 'the embedded database is closed after the command')
})
