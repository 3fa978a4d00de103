#!/usr/bin/env node
// The command line: users, migrations and the import from Django; mirrors Django's createsuperuser /
// changepassword / migrate / loaddata. This file parses the arguments, runs one command from
// src/cli/commands/ (one file each, like Django's management/commands/) and turns errors into exit codes.
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { ConfigError } from './domain/settings.js'
import { DatabaseError } from './db/client.js'
import { redactQueryParameters } from './db/redact.js'
import { DumpdataError } from './domain/dumpdata.js'
import { DuplicateUsername, ValidationError } from './domain/errors.js'
import { CliError, usageError, type CliIo, type Command } from './cli/io.js'
import { USAGE } from './cli/usage.js'
import { createuser } from './cli/commands/createuser.js'
import { changepassword } from './cli/commands/changepassword.js'
import { setactive } from './cli/commands/setactive.js'
import { listusers } from './cli/commands/listusers.js'
import { migrate } from './cli/commands/migrate.js'
import { flushexpiredtokens } from './cli/commands/flushexpiredtokens.js'
import { keys } from './cli/commands/keys.js'
import { importDjango } from './cli/commands/import-django.js'
import { importDjangoBlacklist } from './cli/commands/import-django-blacklist.js'
import { exportDjango } from './cli/commands/export-django.js'
import { checkDjangoToken } from './cli/commands/check-django-token.js'

export { CliError, type CliIo } from './cli/io.js'

const COMMANDS: Record<string, Command> = {
  createuser,
  changepassword,
  setactive,
  listusers,
  migrate,
  flushexpiredtokens,
  keys,
  'import-django': importDjango,
  'import-django-blacklist': importDjangoBlacklist,
  'export-django': exportDjango,
  'check-django-token': checkDjangoToken
}

/** Runs one command; returns the exit code. Never throws for the caller's mistakes. */
export async function runCli (argv: string[], io: CliIo): Promise<number> {
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
        sync: { type: 'boolean' },
        'delete-absent': { type: 'boolean' },
        blacklist: { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      }
    })
    const [name, ...args] = positionals
    if (values.help === true || name === undefined || name === 'help') {
      io.stdout.write(USAGE)
      return name === undefined && values.help !== true ? 2 : 0
    }
    const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined
    if (command === undefined) throw usageError(`unknown command ${JSON.stringify(name)}`)
    return await command(args, values, io)
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
    if (err instanceof ValidationError) {
      // The account service's refusal (a password that fails PASSWORD_VALIDATORS): every message, one a line.
      io.stderr.write(Object.values(err.body).flat().map(message => `Error: ${String(message)}\n`).join(''))
      return 1
    }
    if (err instanceof DuplicateUsername || err instanceof DatabaseError) {
      io.stderr.write(`Error: ${err.message}\n`)
      return 1
    }
    const code = (err as { code?: string }).code
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      io.stderr.write(`Error: ${(err as Error).message}\n${USAGE}`)
      return 2
    }
    // A failed query's parameters (a password hash, say) never reach the terminal.
    throw redactQueryParameters(err)
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
