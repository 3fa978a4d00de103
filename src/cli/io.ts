// What every command shares: the streams it talks to, its one-line errors, reading input and passwords,
// printing tables.
import { readFile } from 'node:fs/promises'
import type { Readable, Writable } from 'node:stream'
import { pythonLength } from '../domain/drf-fields.js'
import { normalizeUsername, PASSWORD_MAX_LENGTH, USERNAME_MAX_LENGTH } from '../domain/users.js'
import { USAGE } from './usage.js'

/** What the CLI talks to; the real process in production, buffers in tests. */
export interface CliIo {
  env: Record<string, string | undefined>
  stdin: Readable & { isTTY?: boolean, setRawMode?: (mode: boolean) => unknown }
  stdout: Writable
  stderr: Writable
}

/** The options the command line accepts (src/cli.ts parses them); each command reads its own. */
export interface CliOptions {
  'first-name'?: string
  'last-name'?: string
  email?: string
  staff?: boolean
  superuser?: boolean
  inactive?: boolean
  'password-stdin'?: boolean
  algorithm?: string
  'on-conflict'?: string
  'dry-run'?: boolean
  harden?: boolean
}

/** One command: its positional arguments and options in, an exit code out. */
export type Command = (args: string[], options: CliOptions, io: CliIo) => Promise<number> | number

/** A mistake of the caller's, reported as one line and exit code 1 (2 for usage). */
export class CliError extends Error {
  constructor (message: string, readonly exitCode = 1) {
    super(message)
    this.name = 'CliError'
  }
}

/** A usage mistake: the message, then the usage text, and exit code 2. */
export const usageError = (message: string) => new CliError(`${message}\n${USAGE.trimEnd()}`, 2)

/** Reads all of a stream as UTF-8. */
export async function readAll (stream: Readable): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer))
  return Buffer.concat(chunks).toString('utf8')
}

/** Reads FILE, or standard input for `-`. */
export async function readInput (file: string, io: CliIo): Promise<string> {
  try {
    return file === '-' ? await readAll(io.stdin) : await readFile(file, 'utf8')
  } catch (err) {
    throw new CliError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
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
export async function readNewPassword (io: CliIo, fromStdin: boolean): Promise<string> {
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
  if (pythonLength(password) > PASSWORD_MAX_LENGTH) throw new CliError(`the password may not be longer than ${PASSWORD_MAX_LENGTH} characters`)
  return password
}

/** The USERNAME argument, NFKC-normalised and checked as Django's createsuperuser would. */
export function checkUsername (given: string | undefined): string {
  if (given === undefined || given.trim() === '') throw usageError('a USERNAME is required')
  // As the account service stores it, so that changepassword and setactive find ｓｐｉｄｅｒｍａｎ as spiderman.
  const username = normalizeUsername(given)
  if (username !== username.trim()) throw new CliError('the username may not begin or end with whitespace')
  if (pythonLength(username) > USERNAME_MAX_LENGTH) throw new CliError(`the username may not be longer than ${USERNAME_MAX_LENGTH} characters`)
  // Django's UnicodeUsernameValidator: letters, digits and @/./+/-/_ only.
  if (!/^[\p{L}\p{N}@.+_-]+$/u.test(username)) throw new CliError('the username may contain only letters, digits and @/./+/-/_')
  return username
}

/** Rows as left-aligned columns, two spaces apart. */
export function table (rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map(row => row[i].length)))
  return rows.map(row => row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()).join('\n') + '\n'
}

/** `n user`, `n users`. */
export const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`
