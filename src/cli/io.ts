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
  sync?: boolean
  'delete-absent'?: boolean
  blacklist?: string
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

/** Reads all of a stream's bytes. */
async function readBytes (stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer))
  return Buffer.concat(chunks)
}

/** Reads all of a stream as UTF-8. */
export async function readAll (stream: Readable): Promise<string> {
  return (await readBytes(stream)).toString('utf8')
}

/** How to write a dump again as UTF-8, for the encoding errors. */
const REEXPORT = 'export it again with dumpdata\'s -o option, which writes UTF-8 whatever the shell (python manage.py dumpdata auth.user -o users.json)'

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const UTF16LE = new TextDecoder('utf-16le', { fatal: true, ignoreBOM: true })

/**
 * The text of a file as operators produce it: UTF-8 (a BOM, as Notepad writes, is dropped), or UTF-16
 * little- or big-endian by its BOM (Windows PowerShell 5.1's `>` writes UTF-16 LE with a BOM) or, without
 * one, by the NUL bytes of ASCII text (JSON starts with `[` or whitespace). Anything else is refused in one
 * line that names the problem and how to write the file again.
 */
export function decodeInput (bytes: Uint8Array, source: string): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const starts = (...prefix: number[]) => prefix.every((byte, i) => buffer[i] === byte)
  if (starts(0xff, 0xfe, 0x00, 0x00) || starts(0x00, 0x00, 0xfe, 0xff)) throw new CliError(`${source} is UTF-32, which is not read here: ${REEXPORT}`)
  if (starts(0xef, 0xbb, 0xbf)) return utf8(buffer.subarray(3), source)
  if (starts(0xff, 0xfe)) return utf16(buffer.subarray(2), 'LE', source)
  if (starts(0xfe, 0xff)) return utf16(buffer.subarray(2), 'BE', source)
  if (buffer.length >= 2 && buffer[0] !== 0 && buffer[1] === 0) return utf16(buffer, 'LE', source)
  if (buffer.length >= 2 && buffer[0] === 0 && buffer[1] !== 0) return utf16(buffer, 'BE', source)
  return utf8(buffer, source)
}

function utf8 (bytes: Buffer, source: string): string {
  try {
    return UTF8.decode(bytes)
  } catch {
    // The line of the first byte that is not UTF-8 (a Latin-1 é, a Windows-1252 quote): U+FFFD in the lenient decoding.
    const line = bytes.toString('utf8').split('\uFFFD')[0].split('\n').length
    throw new CliError(`${source} is not UTF-8 (line ${line} has a byte that is not; Latin-1 or Windows-1252?): ${REEXPORT}`)
  }
}

function utf16 (bytes: Buffer, order: 'LE' | 'BE', source: string): string {
  if (bytes.length % 2 !== 0) throw new CliError(`${source} is UTF-16 ${order} but ends in half a character (truncated?): ${REEXPORT}`)
  // swap16 works in place: on a copy, never on the caller's bytes.
  const little = order === 'LE' ? bytes : Buffer.from(bytes).swap16()
  try {
    return UTF16LE.decode(little)
  } catch {
    throw new CliError(`${source} is UTF-16 ${order} but holds a broken surrogate pair: ${REEXPORT}`)
  }
}

/** Reads FILE, or standard input for `-`, and decodes it (decodeInput). */
export async function readInput (file: string, io: CliIo): Promise<string> {
  let bytes: Buffer
  try {
    bytes = file === '-' ? await readBytes(io.stdin) : await readFile(file)
  } catch (err) {
    throw new CliError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
  return decodeInput(bytes, file === '-' ? 'standard input' : file)
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
