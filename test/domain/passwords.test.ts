import { readFile } from 'node:fs/promises'
import t from 'tap'
import { ARGON2_PARAMS, HASH_CONCURRENCY, hashLoad, hashPassword, UNUSABLE_PASSWORD_PREFIX, verifyDummyPassword, verifyPassword } from '../../src/domain/passwords.js'

interface Vector { hasher: string, password: string, encoded: string, wrong_password: string }
const fixture = JSON.parse(await readFile(new URL('../fixtures/django-argon2.json', import.meta.url), 'utf8')) as { vectors: Vector[] }

// Django's Argon2PasswordHasher encoding with our parameters; salt 16 bytes and hash 32 bytes, unpadded base64.
const DJANGO_ARGON2 = /^argon2\$argon2id\$v=19\$m=19456,t=2,p=1\$([A-Za-z0-9+/]{22})\$[A-Za-z0-9+/]{43}$/

t.test('the parameters are OWASP\'s argon2id baseline', async t => {
  t.strictSame(ARGON2_PARAMS, { memoryCost: 19456, timeCost: 2, parallelism: 1 })
  t.equal(UNUSABLE_PASSWORD_PREFIX, '!')
})

t.test('hashPassword gives Django\'s argon2 encoding', async t => {
  const encoded = await hashPassword('underoos')
  t.match(encoded, DJANGO_ARGON2)
  t.equal(encoded.split('$').length, 6)
})

t.test('hashPassword uses a fresh salt every time', async t => {
  const [a, b] = await Promise.all([hashPassword('underoos'), hashPassword('underoos')])
  const saltA = DJANGO_ARGON2.exec(a)?.[1]
  const saltB = DJANGO_ARGON2.exec(b)?.[1]
  t.ok(saltA)
  t.ok(saltB)
  t.not(saltA, saltB, 'different salts')
  t.not(a, b, 'different encodings')
  t.equal(await verifyPassword(a, 'underoos'), true)
  t.equal(await verifyPassword(b, 'underoos'), true)
})

t.test('hashPassword runs off the event-loop thread', async t => {
  let done = false
  const hashing = hashPassword('underoos').then(() => { done = true })
  await new Promise(resolve => setImmediate(resolve))
  t.equal(done, false, 'the event loop turned while the hash was being computed')
  await hashing
  t.equal(done, true)
})

t.test('a burst of hashes and checks leaves a core free: at most all cores but one at once', async t => {
  const stored = await hashPassword('underoos')
  const burst = [
    ...Array.from({ length: 4 }, () => hashPassword('underoos')),
    ...Array.from({ length: 4 }, () => verifyPassword(stored, 'underoos')),
    ...Array.from({ length: 4 }, () => verifyDummyPassword('underoos'))
  ]
  const state = { settled: false }
  const all = Promise.all(burst).finally(() => { state.settled = true })
  let mostRunning = 0
  let mostWaiting = 0
  while (!state.settled) {
    const load = hashLoad()
    mostRunning = Math.max(mostRunning, load.running)
    mostWaiting = Math.max(mostWaiting, load.waiting)
    await new Promise(resolve => setImmediate(resolve))
  }
  t.equal(mostRunning, HASH_CONCURRENCY, 'never more at once')
  t.ok(mostWaiting >= 8 - HASH_CONCURRENCY, `the rest wait their turn (${mostWaiting} at most)`)
  const results = await all
  t.same(results.slice(4), [true, true, true, true, false, false, false, false], 'and every one completes, right')
  t.same(hashLoad(), { running: 0, waiting: 0 })
})

t.test('verifyPassword: the right password matches, anything else does not', async t => {
  const encoded = await hashPassword('underoos')
  t.equal(await verifyPassword(encoded, 'underoos'), true)
  t.equal(await verifyPassword(encoded, 'underoos!'), false)
  t.equal(await verifyPassword(encoded, 'Underoos'), false)
  t.equal(await verifyPassword(encoded, ' underoos'), false, 'no trimming here: the routes trim')
  t.equal(await verifyPassword(encoded, ''), false)
})

t.test('verifyPassword: unicode and whitespace round-trip', async t => {
  for (const password of ['pässwörd-ünicode-🔑', '  spaces  ', 'x', 'a'.repeat(4096)]) {
    const encoded = await hashPassword(password)
    t.match(encoded, DJANGO_ARGON2)
    t.equal(await verifyPassword(encoded, password), true, JSON.stringify(password.slice(0, 20)))
    t.equal(await verifyPassword(encoded, `${password}!`), false)
  }
  const composed = await hashPassword('\u00e9')
  t.equal(await verifyPassword(composed, 'e\u0301'), false, 'no unicode normalisation, as in Django')
})

t.test('an unusable password never matches', async t => {
  for (const encoded of ['!', '!xyz', '!rL5Ciylcm3JRcYkGN6tLouqxcginoE0Tmtb5VOP6']) {
    t.equal(await verifyPassword(encoded, ''), false, `${encoded} vs ""`)
    t.equal(await verifyPassword(encoded, 'xyz'), false, `${encoded} vs "xyz"`)
    t.equal(await verifyPassword(encoded, encoded), false, `${encoded} vs itself`)
    t.equal(await verifyPassword(encoded, encoded.slice(1)), false)
  }
  const usable = await hashPassword('underoos')
  t.equal(await verifyPassword(`!${usable}`, 'underoos'), false, 'a "!" in front disables even a real hash')
})

t.test('unknown formats never match', async t => {
  const real = await hashPassword('underoos')
  const unknown = [
    '',
    'underoos',
    'plain$underoos',
    'unknown$1$salt$underoos',
    real.slice('argon2'.length),
    real.replace(/^argon2\$/, 'argon3$'),
    real.replace(/^argon2\$/, 'ARGON2$'),
    real.replace(/^argon2\$argon2id/, 'argon2$bcrypt')
  ]
  for (const encoded of unknown) {
    t.equal(await verifyPassword(encoded, 'underoos'), false, JSON.stringify(encoded))
    t.equal(await verifyPassword(encoded, encoded), false)
  }
})

t.test('a malformed argon2 encoding is false, not an exception', async t => {
  const malformed = [
    'argon2$argon2id',
    'argon2$argon2id$',
    'argon2$argon2id$garbage',
    'argon2$argon2id$v=19$m=19456,t=2,p=1$$',
    'argon2$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0',
    'argon2$argon2id$v=19$m=19456,t=2,p=1$not base64!$aGFzaA',
    'argon2$argon2id$v=19$m=1,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo',
    'argon2$argon2id$v=19$m=abc,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo',
    'argon2$argon2i$v=19$m=19456,t=2,p=1$abc$def',
    'argon2$argon2x$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo'
  ]
  for (const encoded of malformed) {
    t.equal(await verifyPassword(encoded, 'underoos'), false, encoded)
  }
  const real = await hashPassword('underoos')
  t.equal(await verifyPassword(`${real}$extra`, 'underoos'), false, 'a trailing field')
  t.equal(await verifyPassword(real.slice(0, -5), 'underoos'), false, 'a truncated hash')
})

t.test('verifyDummyPassword is always false', async t => {
  t.equal(await verifyDummyPassword('underoos'), false)
  t.equal(await verifyDummyPassword(''), false)
  t.equal(await verifyDummyPassword('x'.repeat(4096)), false)
  const results = await Promise.all(['a', 'b', 'c'].map(p => verifyDummyPassword(p)))
  t.strictSame(results, [false, false, false], 'concurrent calls too')
})

t.test('hashes made by Django itself verify', async t => {
  t.equal(fixture.vectors.length, 5)
  for (const vector of fixture.vectors) {
    t.equal(vector.hasher, 'argon2')
    t.match(vector.encoded, /^argon2\$argon2id\$v=19\$m=102400,t=2,p=8\$/)
    t.equal(await verifyPassword(vector.encoded, vector.password), true, `${JSON.stringify(vector.password)} matches`)
    t.equal(await verifyPassword(vector.encoded, vector.wrong_password), false, `${JSON.stringify(vector.wrong_password)} does not`)
  }
})
