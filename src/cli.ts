#!/usr/bin/env node
// The command line: users, migrations and the import from Django; mirrors Django's createsuperuser / changepassword / migrate / loaddata
import { realpathSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { Readable, Writable } from 'node:stream'
import { ConfigError, loadConfig, type Config } from './config.js'
import { DatabaseError, openDatabase, type Database } from './db/client.js'
import { hashPassword } from './passwords.js'
import { ALGORITHMS, generateKey, isAlgorithm, loadKeySet } from './keys.js'
import { PASSWORD_MAX_LENGTH, USERNAME_MAX_LENGTH } from './schemas.js'
import { createUsersRepository, DuplicateUsername } from '../plugins/users.js'
import { createBlacklistRepository } from '../plugins/blacklist.js'
import { DumpdataError, hardenUsers, hashBreakdown, parseBlacklistDump, parseDumpdata, type OnConflict } from './django-import.js'

/** What the CLI talks to; the real process in production, buffers in tests. */
export interface CliIo {
  env: Record<string, string | undefined>
  stdin: Readable & { isTTY?: boolean, setRawMode?: (mode: boolean) => unknown }
  stdout: Writable
  stderr: Writable
}

/** A mistake of the caller's, reported as one line and exit code 1 (2 for usage). */
export class CliError extends Error {
  constructor (message: string, readonly exitCode = 1) {
    super(message)
    this.name = 'CliError'
  }
}

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
  import-django-blacklist FILE [--dry-run]
                              blacklist here the unexpired tokens that Django's
                              "manage.py dumpdata token_blacklist" (FILE, or -) lists

changepassword and "setactive USERNAME false" also revoke every token the user holds.

The database and every other setting come from the environment (see README.md).
`

/** Reads all of a stream as UTF-8. */
async function readAll (stream: Readable): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer))
  return Buffer.concat(chunks).toString('utf8')
}

/** Reads one line from a terminal without echoing it. Ctrl-C or Ctrl-D abandons. */
async function promptHidden (io: CliIo, question: string): Promise<string> {
  const { stdin, stdout } = io
  stdout.write(question)
  stdin.setRawMode?.(true)
  stdin.resume()
  try {
    return await new Promise<string>((resolve, reject) => {
      let answer = ''
      const onData = (data: Buffer) => {
        for (const char of data.toString('utf8')) {
          if (char === '\r' || char === '\n') {
            stdin.off('data', onData)
            stdout.write('\n')
            return resolve(answer)
          }
          if (char === '\u0003' || char === '\u0004') {
            stdin.off('data', onData)
            stdout.write('\n')
            return reject(new CliError('aborted'))
          }
          if (char === '\u007f' || char === '\b') answer = answer.slice(0, -1)
          else answer += char
        }
      }
      stdin.on('data', onData)
    })
  } finally {
    stdin.setRawMode?.(false)
    stdin.pause()
  }
}

/** The new password, from standard input or asked twice at the terminal, checked like a login would be. */
async function readNewPassword (io: CliIo, fromStdin: boolean): Promise<string> {
  let password: string
  if (fromStdin) {
    password = (await readAll(io.stdin)).replace(/\r?\n$/, '')
  } else {
    if (io.stdin.isTTY !== true) throw new CliError('no terminal to ask for the password on; pipe it in with --password-stdin')
    password = await promptHidden(io, 'Password: ')
    const again = await promptHidden(io, 'Password (again): ')
    if (password !== again) throw new CliError('the two passwords differ')
  }
  if (password.trim() === '') throw new CliError('the password may not be blank')
  // simplejwt trims the password at login, so such a password could never be typed in again.
  if (password !== password.trim()) throw new CliError('the password may not begin or end with whitespace')
  if (password.includes('\u0000')) throw new CliError('the password may not contain NUL characters')
  if (password.length > PASSWORD_MAX_LENGTH) throw new CliError(`the password may not be longer than ${PASSWORD_MAX_LENGTH} characters`)
  return password
}

function checkUsername (username: string | undefined): string {
  if (username === undefined || username.trim() === '') throw new CliError(`a USERNAME is required\n${USAGE.trimEnd()}`, 2)
  if (username !== username.trim()) throw new CliError('the username may not begin or end with whitespace')
  if (username.length > USERNAME_MAX_LENGTH) throw new CliError(`the username may not be longer than ${USERNAME_MAX_LENGTH} characters`)
  // Django's UnicodeUsernameValidator: letters, digits and @/./+/-/_ only.
  if (!/^[\p{L}\p{N}@.+_-]+$/u.test(username)) throw new CliError('the username may contain only letters, digits and @/./+/-/_')
  return username
}

function table (rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map(row => row[i].length)))
  return rows.map(row => row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()).join('\n') + '\n'
}

/** `keys generate --algorithm ALG`: a new key, printed in the forms the settings take. Needs no database. */
function generateKeys (args: string[], algorithm: string | undefined, io: CliIo): number {
  if (args[0] !== 'generate' || args.length !== 1) throw new CliError(`keys needs the subcommand generate\n${USAGE.trimEnd()}`, 2)
  if (!isAlgorithm(algorithm)) throw new CliError(`--algorithm must be one of ${ALGORITHMS.join(', ')}`, 2)
  const key = generateKey(algorithm)
  const lines = [`# JWT_ALGORITHM=${algorithm}`, `# kid: ${key.kid}`]
  if (key.verifyingKey === undefined) {
    lines.push('# JWT_SIGNING_KEY (a shared secret: keep it secret):', key.signingKey)
  } else {
    const jwk = loadKeySet({ alg: algorithm, signingKey: key.signingKey, production: true }).current.jwk
    lines.push(
      '# JWT_SIGNING_KEY (private: keep it secret):', key.signingKey.trimEnd(),
      '# JWT_VERIFYING_KEY (public; optional, derived from the signing key when unset):', key.verifyingKey.trimEnd(),
      '# the public JWK, for JWT_PREVIOUS_VERIFYING_KEYS once this key is retired:', JSON.stringify(jwk))
  }
  io.stdout.write(lines.join('\n') + '\n')
  return 0
}

/** What --harden wraps each weak legacy hasher in (src/passwords.ts hardenHash). */
const HARDENED_AS: Record<string, string> = { sha1: 'argon2_sha1', unsalted_sha1: 'argon2_sha1', md5: 'argon2_md5', unsalted_md5: 'argon2_md5' }

/** Reads FILE, or standard input for `-`. */
async function readDump (file: string, io: CliIo): Promise<string> {
  try {
    return file === '-' ? await readAll(io.stdin) : await readFile(file, 'utf8')
  } catch (err) {
    throw new CliError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
}

/**
 * `import-django-blacklist FILE`: the tokens Django's token_blacklist app refuses are refused here
 * too, so that a refresh token logged out (or rotated away) in Django cannot be used after the move.
 */
async function importDjangoBlacklist (file: string, dryRun: boolean, config: Config, io: CliIo): Promise<number> {
  const tokens = parseBlacklistDump(await readDump(file, io))
  const database = await openDatabase(config.DATABASE_URL, { dataDir: config.DATA_DIR })
  let result
  try {
    if (config.MIGRATE_ON_START) await database.migrate()
    result = await createBlacklistRepository(database.db).importDjango(tokens, new Date(), dryRun)
  } finally {
    await database.close()
  }
  const plural = (n: number) => `${n} token${n === 1 ? '' : 's'}`
  const counts = `${plural(result.imported)} blacklisted; ${result.expired} already expired, ${result.present} already blacklisted here`
  io.stdout.write(dryRun ? `Dry run: would have ${counts}; nothing was written.\n` : `Imported from Django: ${counts}.\n`)
  return 0
}

/**
 * `import-django FILE`: reads and checks the whole dump before the database is opened (a malformed
 * record aborts with its index), wraps weak hashes with --harden, then imports in one transaction.
 */
async function importDjango (file: string, options: { onConflict: OnConflict, dryRun: boolean, harden: boolean }, config: Config, io: CliIo): Promise<number> {
  const rows = parseDumpdata(await readDump(file, io))
  const { counts, neverMatch } = hashBreakdown(rows)
  // Hashed before the database is opened: thousands of argon2id hashes must not hold it.
  if (options.harden && !options.dryRun) await hardenUsers(rows)

  const database = await openDatabase(config.DATABASE_URL, { dataDir: config.DATA_DIR })
  let outcome
  try {
    if (config.MIGRATE_ON_START) await database.migrate()
    outcome = await createUsersRepository(database.db).importUsers(rows, options)
  } finally {
    await database.close()
  }

  const { imported, skipped, updated, nextId } = outcome
  const plural = (n: number) => `${n} user${n === 1 ? '' : 's'}`
  const lines = [options.dryRun
    ? `Dry run: would import ${plural(imported)}, skip ${skipped}, update ${updated}; nothing was written.`
    : `Imported ${plural(imported)}, skipped ${skipped}, updated ${updated}; new users get ids from ${nextId} on.`]
  if (rows.length > 0) {
    lines.push('Password hashes:')
    const breakdown = [...counts].sort(([a, x], [b, y]) => y - x || a.localeCompare(b)).map(([kind, count]) => {
      let note = ''
      if (kind === 'unusable') note = 'never matches (unusable in Django too)'
      else if (options.harden && HARDENED_AS[kind] !== undefined) note = `${options.dryRun ? 'would be wrapped' : 'wrapped'} as ${HARDENED_AS[kind]} (--harden)`
      return [`  ${kind}`, String(count), note]
    })
    lines.push(table(breakdown).trimEnd())
  }
  io.stdout.write(lines.join('\n') + '\n')
  if (neverMatch.length > 0) {
    const listed = neverMatch.slice(0, 20).map(user => `  pk ${user.id} ${JSON.stringify(user.username)}: ${user.reason}`)
    if (neverMatch.length > 20) listed.push(`  … and ${neverMatch.length - 20} more`)
    io.stderr.write(`Warning: ${plural(neverMatch.length)} with a password hash that can never match; set a new password with changepassword:\n${listed.join('\n')}\n`)
  }
  return 0
}

/** Runs one command; returns the exit code. Never throws for the caller's mistakes. */
export async function runCli (argv: string[], io: CliIo): Promise<number> {
  let database: Database | undefined
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'first-name': { type: 'string' },
        'last-name': { type: 'string' },
        email: { type: 'string' },
        staff: { type: 'boolean' },
        superuser: { type: 'boolean' },
        inactive: { type: 'boolean' },
        'password-stdin': { type: 'boolean' },
        algorithm: { type: 'string' },
        'on-conflict': { type: 'string' },
        'dry-run': { type: 'boolean' },
        harden: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' }
      }
    })
    const [command, ...args] = positionals
    if (values.help === true || command === undefined || command === 'help') {
      io.stdout.write(USAGE)
      return command === undefined && values.help !== true ? 2 : 0
    }
    if (command === 'keys') return generateKeys(args, values.algorithm, io)
    if (command === 'import-django') {
      const onConflict = values['on-conflict'] ?? 'skip'
      if (args.length !== 1) throw new CliError(`import-django needs one FILE (- for standard input)\n${USAGE.trimEnd()}`, 2)
      if (onConflict !== 'skip' && onConflict !== 'update') throw new CliError('--on-conflict must be skip or update', 2)
      return await importDjango(args[0], { onConflict, dryRun: values['dry-run'] === true, harden: values.harden === true }, loadConfig(io.env), io)
    }
    if (command === 'import-django-blacklist') {
      if (args.length !== 1) throw new CliError(`import-django-blacklist needs one FILE (- for standard input)\n${USAGE.trimEnd()}`, 2)
      return await importDjangoBlacklist(args[0], values['dry-run'] === true, loadConfig(io.env), io)
    }
    if (!['createuser', 'changepassword', 'setactive', 'listusers', 'migrate', 'flushexpiredtokens'].includes(command)) {
      throw new CliError(`unknown command ${JSON.stringify(command)}\n${USAGE.trimEnd()}`, 2)
    }

    const config = loadConfig(io.env)
    // Ask for the password before opening the database: a prompt must not hold it open.
    const username = ['createuser', 'changepassword', 'setactive'].includes(command) ? checkUsername(args[0]) : undefined
    if (command === 'setactive' && args[1] !== 'true' && args[1] !== 'false') {
      throw new CliError('setactive needs true or false after the USERNAME', 2)
    }
    const password = command === 'createuser' || command === 'changepassword'
      ? await readNewPassword(io, values['password-stdin'] === true)
      : undefined

    database = await openDatabase(config.DATABASE_URL, { dataDir: config.DATA_DIR })
    if (command === 'migrate' || config.MIGRATE_ON_START) await database.migrate()
    const users = createUsersRepository(database.db)
    const blacklist = createBlacklistRepository(database.db)

    switch (command) {
      case 'migrate':
        io.stdout.write('Migrations applied.\n')
        break
      case 'createuser': {
        const user = await users.create({
          username: username as string,
          password: await hashPassword(password as string),
          firstName: values['first-name'] ?? '',
          lastName: values['last-name'] ?? '',
          email: values.email ?? '',
          isStaff: values.staff === true || values.superuser === true,
          isSuperuser: values.superuser === true,
          isActive: values.inactive !== true
        })
        io.stdout.write(`Created user ${JSON.stringify(user.username)} with id ${user.id}.\n`)
        break
      }
      case 'changepassword': {
        const user = await users.update(username as string, { password: await hashPassword(password as string) })
        if (user === undefined) throw new CliError(`no user named ${JSON.stringify(username)}`)
        // As Django's update_session_auth_hash would not: every token from the old password dies.
        await blacklist.revokeAll(user.id, new Date())
        io.stdout.write(`Password changed for user ${JSON.stringify(user.username)}; their earlier tokens are revoked.\n`)
        break
      }
      case 'setactive': {
        const user = await users.update(username as string, { isActive: args[1] === 'true' })
        if (user === undefined) throw new CliError(`no user named ${JSON.stringify(username)}`)
        if (!user.isActive) await blacklist.revokeAll(user.id, new Date())
        io.stdout.write(`User ${JSON.stringify(user.username)} is now ${user.isActive ? 'active' : 'inactive'}.\n`)
        break
      }
      case 'flushexpiredtokens': {
        const gone = await blacklist.flushExpired(new Date())
        io.stdout.write(`Deleted ${gone.outstanding} outstanding and ${gone.blacklisted} blacklisted tokens, and ${gone.families} revoked families, all expired.\n`)
        break
      }
      case 'listusers': {
        const rows = (await users.list()).map(u => [
          String(u.id), u.username, `${u.firstName} ${u.lastName}`.trim(), u.email,
          u.isActive ? 'yes' : 'no', u.isStaff ? 'yes' : 'no', u.isSuperuser ? 'yes' : 'no',
          u.lastLogin?.toISOString() ?? '-'
        ])
        io.stdout.write(table([['ID', 'USERNAME', 'NAME', 'EMAIL', 'ACTIVE', 'STAFF', 'SUPERUSER', 'LAST LOGIN'], ...rows]))
        break
      }
    }
    return 0
  } catch (err) {
    if (err instanceof CliError) {
      io.stderr.write(`Error: ${err.message}\n`)
      return err.exitCode
    }
    if (err instanceof ConfigError) {
      io.stderr.write(`Error: invalid configuration: ${err.message}\n`)
      return 1
    }
    if (err instanceof DumpdataError) {
      io.stderr.write(`Error: ${err.message}; nothing was imported\n`)
      return 1
    }
    if (err instanceof DuplicateUsername || err instanceof DatabaseError) {
      io.stderr.write(`Error: ${err.message}\n`)
      return 1
    }
    if ((err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || (err as { code?: string }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      io.stderr.write(`Error: ${(err as Error).message}\n${USAGE}`)
      return 2
    }
    throw err
  } finally {
    await database?.close()
  }
}

function isMain (): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)
  } catch {
    return false
  }
}

if (isMain()) {
  runCli(process.argv.slice(2), { env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr })
    .then(code => { process.exitCode = code })
    .catch((err: Error) => {
      process.stderr.write(`Error: ${err.message}\n`)
      process.exitCode = 1
    })
}
