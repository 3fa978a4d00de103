// readInput (src/cli/io.ts) reads a dump as operators produce it (issue 17, item 4): UTF-8 with or
// without a BOM, UTF-16 as Windows PowerShell 5.1's `>` writes it; anything else is one clean line.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import t from 'tap'
import { CliError, decodeInput, readInput, type CliIo } from '../../src/cli/io.js'

const dump = await readFile(new URL('../fixtures/dumpdata-auth-user.json', import.meta.url), 'utf8')
// Non-ASCII and astral characters, so that a decoding that drops or splits them shows.
const text = dump.replace('"Peter"', '"Pé𠮷 \u{1F577}"')
const BOM = Buffer.from([0xef, 0xbb, 0xbf])
const utf16le = (value: string) => Buffer.from(value, 'utf16le')
const utf16be = (value: string) => utf16le(value).swap16()
const REEXPORT = 'export it again with dumpdata\'s -o option, which writes UTF-8 whatever the shell (python manage.py dumpdata auth.user -o users.json)'

t.test('decodeInput: UTF-8, with or without a BOM; UTF-16 LE and BE, with or without a BOM', async t => {
  const cases: Record<string, Buffer> = {
    'UTF-8': Buffer.from(text),
    'UTF-8 with a BOM (Notepad, PowerShell\'s Out-File -Encoding utf8)': Buffer.concat([BOM, Buffer.from(text)]),
    'UTF-16 LE with a BOM (Windows PowerShell 5.1\'s >)': Buffer.concat([Buffer.from([0xff, 0xfe]), utf16le(text)]),
    'UTF-16 BE with a BOM': Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(text)]),
    'UTF-16 LE without a BOM': utf16le(text),
    'UTF-16 BE without a BOM': utf16be(text)
  }
  for (const [name, bytes] of Object.entries(cases)) t.equal(decodeInput(bytes, 'users.json'), text, name)
  t.equal(decodeInput(Buffer.alloc(0), 'users.json'), '', 'an empty file is empty (the JSON parser says it is not a dump)')
  t.equal(decodeInput(BOM, 'users.json'), '')
})

t.test('decodeInput: what it cannot read is one line naming the encoding and how to export again', async t => {
  const refused: Array<[Buffer, string]> = [
    [Buffer.from('[\n{"first_name": "Ren\xe9"}]', 'latin1'), `users.json is not UTF-8 (line 2 has a byte that is not; Latin-1 or Windows-1252?): ${REEXPORT}`],
    [Buffer.concat([Buffer.from([0xff, 0xfe]), utf16le('[]'), Buffer.from([0x5b])]), `users.json is UTF-16 LE but ends in half a character (truncated?): ${REEXPORT}`],
    [Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be('["\ud83d"]')]), `users.json is UTF-16 BE but holds a broken surrogate pair: ${REEXPORT}`],
    [Buffer.from([0xff, 0xfe, 0, 0, 0x5b, 0, 0, 0]), `users.json is UTF-32, which is not read here: ${REEXPORT}`]
  ]
  for (const [bytes, message] of refused) {
    t.throws(() => decodeInput(bytes, 'users.json'), new CliError(message))
    t.ok(!/[\ufeff\ufffd]/.test(message) && !message.includes('\0'), 'no invisible characters in the message')
  }
})

t.test('readInput: a file, or standard input for -, decoded; errors of either are one line', async t => {
  const scratch = await mkdtemp(join(tmpdir(), 'fsj-io-'))
  t.teardown(() => rm(scratch, { recursive: true, force: true }))
  const file = join(scratch, 'users.json')
  await writeFile(file, Buffer.concat([Buffer.from([0xff, 0xfe]), utf16le(text)]))
  const io = (stdin: Readable): CliIo => ({ env: {}, stdin, stdout: new PassThrough(), stderr: new PassThrough() })
  t.equal(await readInput(file, io(new PassThrough())), text)
  t.equal(await readInput('-', io(Readable.from([BOM, Buffer.from(text.slice(0, 10)), Buffer.from(text.slice(10))]))), text)
  await t.rejects(readInput(join(scratch, 'missing.json'), io(new PassThrough())), new CliError(`cannot read ${join(scratch, 'missing.json')} (ENOENT)`))
  const broken = new PassThrough()
  broken.destroy(new Error('EPIPE-like failure'))
  await t.rejects(readInput('-', io(broken)), new CliError('cannot read - (EPIPE-like failure)'))
  await t.rejects(readInput('-', io(Readable.from([Buffer.from([0x5b, 0xe9, 0x5d])]))), new CliError(`standard input is not UTF-8 (line 1 has a byte that is not; Latin-1 or Windows-1252?): ${REEXPORT}`))
})
