// Django's hashers (src/domain/hashers.ts) and their use by src/domain/passwords.ts, on hashes made by Django itself.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { verify as argon2Verify } from '@node-rs/argon2'
import { HASHER_CAPS, parseHash } from '../../src/domain/hashers.js'
import { hardenHash, hashPassword, needsRehash, verifyPassword, type PasswordLog } from '../../src/domain/passwords.js'

interface Vector { hasher: string, password: string, encoded: string, wrong_password: string }
const load = async (name: string) => (JSON.parse(await readFile(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')) as { vectors: Vector[] }).vectors
// Made by Django 3.2's make_password (scrypt in Django 4's format), and Django's own argon2i test vectors.
const vectors = await load('django-hashes.json')
const argon2i = await load('django-argon2i.json')
const usable = [...vectors, ...argon2i].filter(v => v.hasher !== 'unusable')
const WEAK = ['sha1', 'md5', 'unsalted_sha1', 'unsalted_md5']
const CURRENT = /^argon2\$argon2id\$v=19\$m=19456,t=2,p=1\$/

/** A PasswordLog that keeps what it is told. */
function recorder () {
  const entries: Array<{ details: Record<string, unknown>, message: string }> = []
  const log: PasswordLog = { warn: (details, message) => { entries.push({ details, message }) } }
  return { log, entries }
}

t.test('the fixtures cover every Django hasher', async t => {
  t.strictSame([...new Set(vectors.map(v => v.hasher))].sort(), [
    'argon2', 'bcrypt', 'bcrypt_sha256', 'md5', 'pbkdf2_sha1', 'pbkdf2_sha256', 'scrypt', 'sha1', 'unsalted_md5', 'unsalted_sha1', 'unusable'
  ])
  t.ok(argon2i.every(v => v.encoded.startsWith('argon2$argon2i$')))
})

t.test('every Django vector verifies, and its wrong password does not', async t => {
  // All queued at once on libuv's thread pool (bcrypt cost 12 alone is 0.3 s a check).
  const results = await Promise.all(usable.map(v => Promise.all([verifyPassword(v.encoded, v.password), verifyPassword(v.encoded, v.wrong_password)])))
  for (const [i, v] of usable.entries()) {
    t.strictSame(results[i], [true, false], `${v.hasher} ${JSON.stringify(v.password)} matches; ${JSON.stringify(v.wrong_password)} does not`)
  }
})

t.test('parseHash names each hasher as Django\'s identify_hasher does', async t => {
  for (const v of usable) {
    const parsed = parseHash(v.encoded)
    t.equal(parsed.usable && parsed.algorithm, v.hasher, v.encoded.slice(0, 24))
  }
  const unsaltedMd5 = vectors.find(v => v.hasher === 'unsalted_md5') as Vector
  t.equal(unsaltedMd5.encoded.length, 32, 'a bare 32-digit MD5')
  const prefixed = `md5$$${unsaltedMd5.encoded}`
  t.match(parseHash(prefixed), { usable: true, algorithm: 'unsalted_md5' }, 'and its md5$$ form')
  t.equal(await verifyPassword(prefixed, unsaltedMd5.password), true)
  t.equal(await verifyPassword(prefixed, unsaltedMd5.wrong_password), false)
})

t.test('an unusable password never matches and is not logged', async t => {
  const { log, entries } = recorder()
  const unusable = vectors.filter(v => v.hasher === 'unusable')
  t.equal(unusable.length, 1)
  for (const v of unusable) {
    t.match(parseHash(v.encoded), { usable: false, problem: 'unusable' })
    for (const password of [v.password, v.wrong_password, v.encoded, v.encoded.slice(1)]) {
      t.equal(await verifyPassword(v.encoded, password, log), false)
    }
  }
  const real = vectors.find(v => v.hasher === 'pbkdf2_sha256') as Vector
  t.equal(await verifyPassword(`!${real.encoded}`, real.password, log), false, 'a "!" in front disables a real Django hash')
  t.strictSame(entries, [])
})

t.test('a hash over the caps never matches, and is logged without the hash', async t => {
  const bcrypt = (vectors.find(v => v.hasher === 'bcrypt_sha256') as Vector).encoded
  const argon2 = (vectors.find(v => v.hasher === 'argon2') as Vector).encoded
  const scrypt = (vectors.find(v => v.hasher === 'scrypt') as Vector).encoded
  const overCaps: Array<[string, string]> = [
    [`pbkdf2_sha256$${HASHER_CAPS.pbkdf2Iterations + 1}$salt$m8UrTeKwpIyxvGvsN8W3Z10XqauAhcOw8aaG3mXX9No=`, 'pbkdf2_sha256'],
    ['pbkdf2_sha1$1000000000$salt$72aI6KoqTPGK9jZYQLBRcGPhddI=', 'pbkdf2_sha1'],
    [bcrypt.replace('$2b$12$', '$2b$15$'), 'bcrypt_sha256'],
    [`bcrypt${bcrypt.slice('bcrypt_sha256'.length).replace('$12$', '$31$')}`, 'bcrypt'],
    [argon2.replace('m=102400', `m=${HASHER_CAPS.argon2MemoryKiB + 1}`), 'argon2'],
    [argon2.replace('t=2', 't=17'), 'argon2'],
    [argon2.replace('p=8', 'p=17'), 'argon2'],
    [argon2.replace('m=102400', 'm=4294967295'), 'argon2'],
    [scrypt.replace('scrypt$16384$', 'scrypt$262144$'), 'scrypt'],
    [scrypt.replace('$8$1$', '$65$1$'), 'scrypt'],
    [scrypt.replace('$8$1$', '$8$17$'), 'scrypt'],
    [`argon2_sha1$salt${argon2.slice('argon2'.length).replace('m=102400', 'm=1048576')}`, 'argon2_sha1']
  ]
  for (const [encoded, algorithm] of overCaps) {
    t.match(parseHash(encoded), { usable: false, problem: 'over_caps', algorithm }, encoded.slice(0, 40))
    const { log, entries } = recorder()
    const started = Date.now()
    t.equal(await verifyPassword(encoded, 'underoos', log), false)
    t.ok(Date.now() - started < 2000, 'no time is spent on the hostile parameters')
    t.equal(entries.length, 1, 'one warning')
    t.match(entries[0].details, { event: 'password_hash_unverifiable', problem: 'over_caps', algorithm })
    t.notOk(JSON.stringify(entries[0]).includes(encoded.split('$').at(-1) as string), 'the hash itself is not logged')
  }
  // At the caps exactly is still fine.
  t.match(parseHash(`pbkdf2_sha256$${HASHER_CAPS.pbkdf2Iterations}$salt$abc=`), { usable: true })
  t.match(parseHash(bcrypt.replace('$2b$12$', `$2b$${HASHER_CAPS.bcryptCost}$`)), { usable: true })
  t.match(parseHash(scrypt.replace('scrypt$16384$', 'scrypt$131072$')), { usable: true }, '128 MiB of scrypt memory')
})

t.test('malformed and unknown hashes never match, and are logged', async t => {
  const argon2 = (vectors.find(v => v.hasher === 'argon2') as Vector).encoded
  const cases: Array<[string, string]> = [
    ['', 'unknown'],
    ['underoos', 'unknown'],
    ['crypt$$abN0RUuEpiNnA', 'unknown'],
    ['custom_hasher$1$salt$hash', 'unknown'],
    ['pbkdf2_sha256$260000$salt', 'malformed'],
    ['pbkdf2_sha256$abc$salt$hash=', 'malformed'],
    ['pbkdf2_sha256$0$salt$hash=', 'malformed'],
    ['pbkdf2_sha256$260000$$m8UrTeKwpIyxvGvsN8W3Z10XqauAhcOw8aaG3mXX9No=', 'malformed'],
    ['pbkdf2_sha256$260000$salt$not base64!', 'malformed'],
    ['bcrypt_sha256$$2b$12$short', 'malformed'],
    ['bcrypt$$2x$12$/Xk9s1m9crA02r0CLRVbpeuXdlLzRcURY3ZxjCW7qIIqmfIEeoUyW', 'malformed'],
    ['bcrypt$$2b$03$/Xk9s1m9crA02r0CLRVbpeuXdlLzRcURY3ZxjCW7qIIqmfIEeoUyW', 'malformed'],
    ['scrypt$16384$salt$8$1', 'malformed'],
    ['scrypt$1000$salt$8$1$aGFzaA==', 'malformed'],
    ['sha1$$abc', 'malformed'],
    ['sha1$salt$D1DA1EC0319BC667832D0814A1D8A2DF1A9535EE', 'malformed'],
    ['md5$salt$f3ead78ccf30dad6b73220ac03d06df2$extra', 'malformed'],
    ['zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz', 'malformed'],
    [argon2.replace('argon2id', 'argon2x'), 'malformed'],
    [argon2.replace('v=19', 'v=20'), 'malformed'],
    [argon2.replace('m=102400', 'm=abc'), 'malformed'],
    ['argon2_sha1$salt', 'malformed'],
    ['argon2_md5$$$argon2id$v=19$m=19456,t=2,p=1$$', 'malformed']
  ]
  for (const [encoded, problem] of cases) {
    t.match(parseHash(encoded), { usable: false, problem }, JSON.stringify(encoded))
    const { log, entries } = recorder()
    t.equal(await verifyPassword(encoded, 'underoos', log), false)
    t.equal(await verifyPassword(encoded, encoded, log), false)
    t.match(entries[0]?.details, { event: 'password_hash_unverifiable', problem })
  }
  // Parameters that parse but that the argon2 library refuses (m below 8·p) are false, not an exception.
  t.equal(await verifyPassword(argon2.replace('m=102400', 'm=8'), 'underoos'), false)
})

t.test('verification runs off the event-loop thread', async t => {
  for (const hasher of ['pbkdf2_sha256', 'pbkdf2_sha1', 'argon2', 'bcrypt_sha256', 'bcrypt', 'scrypt']) {
    const v = vectors.find(v => v.hasher === hasher) as Vector
    let done = false
    const checking = verifyPassword(v.encoded, v.password).then(result => { done = true; return result })
    await new Promise(resolve => setImmediate(resolve))
    t.equal(done, false, `${hasher}: the event loop turned while the hash was being computed`)
    t.equal(await checking, true)
  }
})

t.test('needsRehash: every Django hash is replaced at login, ours is kept', async t => {
  for (const v of [...vectors, ...argon2i]) t.equal(needsRehash(v.encoded), true, v.encoded.slice(0, 24))
  t.equal(needsRehash(await hashPassword('underoos')), false)
  t.equal(needsRehash('argon2$argon2id$v=19$m=19456,t=3,p=1$c2FsdA$aGFzaA'), true, 'other argon2id parameters')
})

t.test('hardenHash wraps the weak hashes in argon2id, and both layers verify', async t => {
  for (const v of vectors.filter(v => WEAK.includes(v.hasher))) {
    const hardened = await hardenHash(v.encoded) as string
    const parsed = parseHash(v.encoded)
    const legacy = parsed.usable ? parsed.legacy : undefined
    const digest = v.hasher.endsWith('sha1') ? 'sha1' : 'md5'
    t.ok(legacy)
    t.match(hardened, new RegExp(`^argon2_${digest}\\$${legacy?.salt}\\$argon2id\\$v=19\\$m=19456,t=2,p=1\\$[A-Za-z0-9+/]{22}\\$[A-Za-z0-9+/]{43}$`), v.encoded)
    t.notOk(hardened.includes(legacy?.hex as string), 'the weak digest is not stored')
    t.match(parseHash(hardened), { usable: true, algorithm: `argon2_${digest}` })
    t.equal(await verifyPassword(hardened, v.password), true, `${v.hasher} ${JSON.stringify(v.password)} matches through both layers`)
    t.equal(await verifyPassword(hardened, v.wrong_password), false)
    t.equal(needsRehash(hardened), true, 'rehashed plainly at the next login')
    // The documented construction, checked independently: argon2id over the hex digest of salt + password.
    const phc = hardened.slice(`argon2_${digest}$${legacy?.salt}`.length)
    t.equal(await argon2Verify(phc, createHash(digest).update(`${legacy?.salt}${v.password}`).digest('hex')), true)
  }
  for (const v of [...vectors, ...argon2i].filter(v => !WEAK.includes(v.hasher))) {
    t.equal(await hardenHash(v.encoded), undefined, `${v.hasher} is left alone`)
  }
  t.equal(await hardenHash(await hashPassword('underoos')), undefined)
  t.equal(await hardenHash('garbage'), undefined)
  t.match(await hashPassword('underoos'), CURRENT)
})
