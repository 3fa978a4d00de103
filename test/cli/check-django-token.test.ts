// Issue 17, item 3: `check-django-token` proves, before the cutover, that Django's tokens verify here (the
// key, the algorithm, the audience and issuer, the claim names), each on one line, exit code 1 on any mismatch.
// The tokens are simplejwt's own (test/routes/token-django.test.ts's transcript) and forged variants.
import { createHmac, generateKeyPairSync } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSigner } from 'fast-jwt'
import t from 'tap'
import { accessClaims, cliDatabase, Clock, FIXED_MS, forge, TEST_KEY } from '../helper.js'
import { runCommand, type Run } from '../helpers/cli.js'

const scratch = await mkdtemp(join(tmpdir(), 'fsj-check-token-'))
t.teardown(() => rm(scratch, { recursive: true, force: true }))
const { env } = await cliDatabase(t, join(scratch, 'data'))
const keyed = { ...env, JWT_SIGNING_KEY: TEST_KEY }
const check = (token: string, extra: Record<string, string> = {}): Promise<Run> => runCommand({ ...keyed, ...extra }, ['check-django-token', token])

// Made by djangorestframework-simplejwt with SECRET_KEY = TEST_KEY at FIXED_MS (user 1, HS256).
const sign = (unsigned: string) => `${unsigned}.${createHmac('sha256', TEST_KEY).update(unsigned).digest('base64url')}`
const TRANSCRIPT_REFRESH = sign('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCIsImV4cCI6MTc5NjA3NDg4OSwiaWF0IjoxNzk1OTg4NDg5LCJqdGkiOiJhNzBiYTRmZjVkMmE0MDA4ODBlNTQyMjM5MjE1NDY5MCIsInVzZXJfaWQiOjF9')
const TRANSCRIPT_ACCESS = sign('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjoxNzk1OTg4Nzg5LCJpYXQiOjE3OTU5ODg0ODksImp0aSI6IjE0ODhiN2JiMmZjNTQyN2NhOGNhMGUzNDk1YTIzZWIwIiwidXNlcl9pZCI6MX0')

const clock = new Clock(Date.now())
/** An access token's claims as of now (a user created since must not post-date its `iat`). */
const fresh = (extra: Record<string, unknown> = {}) => accessClaims(new Clock(Date.now()), extra)
const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z')
const lines = (run: Run, kind: string) => run.stdout.split('\n').filter(line => line.startsWith(kind)).map(line => line.slice(10))

/** Runs `work` with Date.now() at `ms` (the transcript's tokens have a fixed expiry). */
async function at<T> (ms: number, work: () => Promise<T>): Promise<T> {
  const real = Date.now
  Date.now = () => ms
  try {
    return await work()
  } finally {
    Date.now = real
  }
}

t.test('the right key: exit 0, every check on its line, and a summary', async t => {
  t.equal((await runCommand(env, ['createuser', 'spiderman', '--password-stdin'], 'a long enough password\n')).code, 0)
  const now = new Clock(Date.now())
  const token = forge(accessClaims(now))
  const run = await check(token)
  t.equal(run.code, 0, run.stderr)
  t.equal(run.stdout, [
    'ok        alg HS256, as JWT_ALGORITHM',
    'ok        the signature verifies with JWT_SIGNING_KEY',
    'ok        no aud, and JWT_AUDIENCE is unset',
    'ok        no iss, and JWT_ISSUER is unset',
    'ok        the token type is access, in "token_type" (TOKEN_TYPE_CLAIM)',
    'ok        the user id is 1, in "user_id" (USER_ID_CLAIM)',
    'ok        the token has an id, in "jti" (JTI_CLAIM)',
    'ok        user 1 (spiderman) is in the database and active',
    `The token verifies with the configured key and settings: HS256, user_id 1, access, expires ${iso(now.seconds + 300)}.`,
    ''
  ].join('\n'))
  t.equal(run.stderr, '')
  t.notOk(run.stdout.includes(TEST_KEY) || run.stdout.includes(token.split('.')[2]), 'neither the key nor the token is printed')

  const piped = await runCommand(keyed, ['check-django-token', '-'], `${token}\n`)
  t.same([piped.code, piped.stdout], [0, run.stdout], '- reads it from standard input, out of the shell\'s history')
})

t.test('Django\'s own tokens: they verify, and an expired one still proves the key', async t => {
  const live = await at(FIXED_MS, () => check(TRANSCRIPT_ACCESS))
  t.equal(live.code, 0, live.stderr)
  t.match(live.stdout, /\nThe token verifies with the configured key and settings: HS256, user_id 1, access, expires 2026-11-29T21:46:29Z\.\n$/)
  t.same(lines(live, 'MISMATCH'), [])
  t.same(lines(live, 'note'), ['user 1 (spiderman) had its tokens revoked (or joined) after this one was issued: it is refused'],
    'a user created after the token was issued (here, not imported from Django) is told of')

  const expired = await at(FIXED_MS + 2 * 86400_000, () => check(TRANSCRIPT_REFRESH))
  t.equal(expired.code, 0, 'an expired token still proves the key')
  t.match(expired.stdout, /\nThe token expired at 2026-11-30T21:41:29Z, but the key and settings match: HS256, user_id 1, refresh\.\n$/)
})

t.test('the wrong key: exit 1, and which key to use', async t => {
  const run = await check(TRANSCRIPT_ACCESS, { JWT_SIGNING_KEY: 'not-the-django-secret-key-at-all-0123456789' })
  t.equal(run.code, 1)
  t.same(lines(run, 'MISMATCH'), ['the signature does not verify with JWT_SIGNING_KEY: is it Django\'s SIMPLE_JWT[\'SIGNING_KEY\'] (by default its SECRET_KEY)?'])
  t.equal(run.stderr, 'Error: one mismatch (above): the service would refuse this token, and every other one Django minted\n')

  const retired = JSON.stringify({ keys: [{ kty: 'oct', k: Buffer.from('another retired key, long enough for it').toString('base64url'), alg: 'HS256' }] })
  const withRetired = await check(TRANSCRIPT_ACCESS, { JWT_SIGNING_KEY: 'not-the-django-secret-key-at-all-0123456789', JWT_PREVIOUS_VERIFYING_KEYS: retired })
  t.same(lines(withRetired, 'MISMATCH'), ['the signature does not verify with JWT_SIGNING_KEY, nor with JWT_PREVIOUS_VERIFYING_KEYS: is it Django\'s SIMPLE_JWT[\'SIGNING_KEY\'] (by default its SECRET_KEY)?'])

  const asRetired = JSON.stringify({ keys: [{ kty: 'oct', k: Buffer.from(TEST_KEY).toString('base64url'), alg: 'HS256', kid: 'django' }] })
  const rotated = await check(forge(fresh()), { JWT_SIGNING_KEY: 'a-new-long-key-after-the-cutover-0123456789', JWT_PREVIOUS_VERIFYING_KEYS: asRetired })
  t.equal(rotated.code, 0, 'after the rotation, the Django key verifies as a retired key')
  t.same(lines(rotated, 'ok').slice(0, 2), ['alg HS256, as JWT_ALGORITHM', 'the signature verifies with the retired key "django" of JWT_PREVIOUS_VERIFYING_KEYS'])
})

t.test('an asymmetric key: the verifying key is named', async t => {
  const pem = (pair: ReturnType<typeof generateKeyPairSync>) => pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  const django = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const ours = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const token = createSigner({ key: pem(django), algorithm: 'ES256' })(fresh())
  t.equal((await check(token, { JWT_ALGORITHM: 'ES256', JWT_SIGNING_KEY: pem(django) })).code, 0)
  const wrong = await check(token, { JWT_ALGORITHM: 'ES256', JWT_SIGNING_KEY: pem(ours) })
  t.equal(wrong.code, 1)
  t.same(lines(wrong, 'MISMATCH'), ['the signature does not verify with the verifying key (JWT_VERIFYING_KEY, or the public key of JWT_SIGNING_KEY): is it Django\'s SIMPLE_JWT[\'VERIFYING_KEY\'], the public key of its SIGNING_KEY?'])
})

t.test('the wrong algorithm: named, with the setting to change', async t => {
  const run = await check(forge(fresh(), { alg: 'HS512' }))
  t.equal(run.code, 1)
  t.same(lines(run, 'MISMATCH'), ['the token is signed with "HS512", but JWT_ALGORITHM is HS256: set JWT_ALGORITHM=HS512 (Django\'s SIMPLE_JWT[\'ALGORITHM\'])'])
  t.ok(lines(run, 'ok').includes('the signature verifies with JWT_SIGNING_KEY'), 'the key itself is right')

  const none = await check(forge(fresh(), { header: { alg: 'none', typ: 'JWT' } }))
  t.equal(none.code, 1)
  t.same(lines(none, 'MISMATCH'), ['the token is signed with "none", but JWT_ALGORITHM is HS256', 'the signature was not checked: "none" is no algorithm the service accepts'])
})

t.test('audience and issuer: each side named', async t => {
  const both = { JWT_AUDIENCE: 'api', JWT_ISSUER: 'https://auth.example.com' }
  t.equal((await check(forge(fresh({ aud: 'api', iss: 'https://auth.example.com' })), both)).code, 0)
  t.equal((await check(forge(fresh({ aud: ['other', 'api'], iss: 'https://auth.example.com' })), both)).code, 0, 'one of several audiences')
  const wrong = await check(forge(fresh({ aud: 'web', iss: 'https://django.example.com' })), both)
  t.equal(wrong.code, 1)
  t.same(lines(wrong, 'MISMATCH'), [
    'the token\'s aud is "web", but JWT_AUDIENCE is "api": set JWT_AUDIENCE as Django\'s SIMPLE_JWT[\'AUDIENCE\']',
    'the token\'s iss is "https://django.example.com", but JWT_ISSUER is "https://auth.example.com": set JWT_ISSUER as Django\'s SIMPLE_JWT[\'ISSUER\']'
  ])
  t.same(lines(await check(forge(fresh()), both), 'MISMATCH'), [
    'the token has no aud, but JWT_AUDIENCE is "api": unset JWT_AUDIENCE (Django\'s SIMPLE_JWT[\'AUDIENCE\'] is unset)',
    'the token has no iss, but JWT_ISSUER is "https://auth.example.com": unset JWT_ISSUER (Django\'s SIMPLE_JWT[\'ISSUER\'] is unset)'
  ])
  t.same(lines(await check(forge(fresh({ aud: 'api' }))), 'MISMATCH'), ['the token\'s aud is "api", but JWT_AUDIENCE is unset: set JWT_AUDIENCE as Django\'s SIMPLE_JWT[\'AUDIENCE\']'])
})

t.test('claim names: a missing claim, and where the token keeps it', async t => {
  const { token_type: _type, user_id: _user, jti: _jti, ...bare } = fresh()
  const run = await check(forge({ ...bare, kind: 'access', uid: 1, id: 'x' }))
  t.equal(run.code, 1)
  t.same(lines(run, 'MISMATCH'), [
    'the token has no "token_type" claim (TOKEN_TYPE_CLAIM); "kind" holds its type: set TOKEN_TYPE_CLAIM=kind (Django\'s SIMPLE_JWT[\'TOKEN_TYPE_CLAIM\'])',
    'the token has no "user_id" claim (USER_ID_CLAIM); its claims are exp, iat, kind, uid, id: set USER_ID_CLAIM as Django\'s SIMPLE_JWT[\'USER_ID_CLAIM\']',
    'the token has no "jti" claim (JTI_CLAIM); its claims are exp, iat, kind, uid, id: set JTI_CLAIM as Django\'s SIMPLE_JWT[\'JTI_CLAIM\']'
  ])
  const renamed = await check(forge({ ...bare, kind: 'access', uid: 1, id: 'x' }), { TOKEN_TYPE_CLAIM: 'kind', USER_ID_CLAIM: 'uid', JTI_CLAIM: 'id' })
  t.equal(renamed.code, 0, 'with the same claim names as Django it verifies')
  t.same(lines(await check(forge(fresh({ user_id: '1', token_type: 'bearer' }))), 'MISMATCH'), [
    '"token_type" (TOKEN_TYPE_CLAIM) is "bearer", not access, refresh or sliding',
    '"user_id" (USER_ID_CLAIM) is not a positive integer: the service knows users by integer ids only'
  ])
  const { exp: _exp, ...noExp } = fresh()
  t.same(lines(await check(forge(noExp)), 'MISMATCH'), ['the token has no exp claim'])
  t.same(lines(await check(forge(fresh({ iat: clock.seconds + 3600 }))), 'MISMATCH'), [`iat ${iso(clock.seconds + 3600)} is in the future: this host's clock and Django's differ by more than JWT_LEEWAY`])
})

t.test('what is no token, and a missing key or argument', async t => {
  for (const token of ['not-a-token', 'a.b', `${forge(fresh())}=`, 'e30.WzFd.c2ln']) {
    const run = await check(token)
    t.equal(run.code, 1, token)
    t.match(run.stderr, /^Error: the token is not a JWT/)
  }
  const noKey = await runCommand(env, ['check-django-token', forge(fresh())])
  t.same([noKey.code, noKey.stderr], [1, 'Error: JWT_SIGNING_KEY is not set: set it (or JWT_SIGNING_KEY_FILE) to Django\'s SIMPLE_JWT[\'SIGNING_KEY\'] (by default its SECRET_KEY)\n'])
  const noArgument = await runCommand(keyed, ['check-django-token'])
  t.equal(noArgument.code, 2)
  t.match(noArgument.stderr, /^Error: check-django-token needs one TOKEN \(- reads it from standard input, out of the shell's history\)\nUsage:/)
})

t.test('a short Django key in production: refused, unless JWT_ACCEPT_SHORT_SIGNING_KEY', async t => {
  const key = 'short-django-secret'
  const token = forge(fresh(), { key })
  const refused = await check(token, { NODE_ENV: 'production', JWT_SIGNING_KEY: key })
  t.same([refused.code, refused.stderr], [1, 'Error: invalid configuration: JWT_SIGNING_KEY: an HS256 key must be at least 32 bytes when NODE_ENV=production (got 19)\n'])
  const accepted = await check(token, { NODE_ENV: 'production', JWT_SIGNING_KEY: key, JWT_ACCEPT_SHORT_SIGNING_KEY: 'true' })
  t.equal(accepted.code, 0, accepted.stdout)
})
