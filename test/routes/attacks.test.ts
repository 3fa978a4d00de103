// An attack catalogue against the token backend (RFC 8725): every forged token is signed here with node:crypto,
// never through the app, and must be refused at hello, /verify/, /refresh/ and /blacklist/ alike.
import {
  constants, createHmac, generateKeyPairSync, randomUUID, sign as cryptoSign, type KeyObject
} from 'node:crypto'
import { performance } from 'node:perf_hooks'
import t from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { hmacKid, thumbprint } from '../../src/domain/keys.js'
import { MAX_TOKEN_LENGTH } from '../../src/domain/tokens.js'
import { bearer, build, Clock, createUser, obtainPair, TEST_KEY, testDatabase } from '../helper.js'

// Keys, made once. The deployment keys, an attacker's keys of the same kinds, and a key retired and then removed.
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const rsaAttacker = generateKeyPairSync('rsa', { modulusLength: 2048 })
const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
const p256Attacker = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
const p256Retired = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' })
const ed25519Attacker = generateKeyPairSync('ed25519')
const OLD_SECRET = 'a-retired-hmac-secret-0123456789abcdef-0123456789abcdef'
const ATTACKER_SECRET = 'attacker-chosen-secret-0123456789abcdef-0123456789abcdef'

const privatePem = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }).toString()
const publicPem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString()
const publicJwk = (key: KeyObject) => key.export({ format: 'jwk' })
const kidOf = (key: KeyObject) => thumbprint(publicJwk(key))
const RS_KID = kidOf(rsa.publicKey)
const ES_KID = kidOf(p256.publicKey)
const RETIRED_KID = kidOf(p256Retired.publicKey)
const OCT_KID = hmacKid(OLD_SECRET)

const clock = new Clock()
const database = await testDatabase(t)
const hs = await build(t, {}, { clock, database })
const rs = await build(t, { JWT_ALGORITHM: 'RS256', JWT_SIGNING_KEY: privatePem(rsa.privateKey) }, { clock, database })
const es = await build(t, { JWT_ALGORITHM: 'ES256', JWT_SIGNING_KEY: privatePem(p256.privateKey) }, { clock, database })
// ES256 with a retired ES256 key: the multi-key path, where the kid picks the key.
const esRotated = await build(t, {
  JWT_ALGORITHM: 'ES256',
  JWT_SIGNING_KEY: privatePem(p256.privateKey),
  JWT_PREVIOUS_VERIFYING_KEYS: JSON.stringify({ keys: [{ ...publicJwk(p256Retired.publicKey), alg: 'ES256' }] })
}, { clock, database })
// RS256 after a rotation away from HMAC: an asymmetric deployment that still knows an HMAC kid.
const rsMixed = await build(t, {
  JWT_ALGORITHM: 'RS256',
  JWT_SIGNING_KEY: privatePem(rsa.privateKey),
  JWT_PREVIOUS_VERIFYING_KEYS: JSON.stringify({ keys: [{ kty: 'oct', k: Buffer.from(OLD_SECRET).toString('base64url'), alg: 'HS256' }] })
}, { clock, database })
// HS256 after a rotation away from RS256: an HMAC deployment that holds a public key.
const hsRetiredRs = await build(t, {
  JWT_PREVIOUS_VERIFYING_KEYS: JSON.stringify({ keys: [{ ...publicJwk(rsa.publicKey), alg: 'RS256' }] })
}, { clock, database })
// Two users: a payload tampered to name user 2 would say hello to Mary Jane if it were accepted.
await createUser(hs)
await createUser(hs, { username: 'mj', password: 'tiger', firstName: 'Mary Jane', lastName: 'Watson' })
const minted = {
  hs: await obtainPair(hs),
  rs: await obtainPair(rs),
  es: await obtainPair(es)
}

const HELLO_INVALID = {
  detail: 'Given token not valid for any token type',
  code: 'token_not_valid',
  messages: [{ token_class: 'AccessToken', token_type: 'access', message: 'Token is invalid or expired' }]
}
const INVALID = { detail: 'Token is invalid or expired', code: 'token_not_valid' }

type TokenType = 'access' | 'refresh'
/** Makes the attack's token of a type: access for hello and verify, refresh for refresh, blacklist and verify. */
type Make = (type: TokenType) => string
type Assert = Pick<typeof t, 'equal' | 'same' | 'ok'>

const b64 = (value: string | Buffer) => Buffer.from(value).toString('base64url')

/** The claims of a well-formed token at the clock's time. */
function claims (type: TokenType, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    token_type: type,
    exp: clock.seconds + (type === 'access' ? 300 : 86400),
    iat: clock.seconds,
    jti: randomUUID().replaceAll('-', ''),
    user_id: 1,
    ...extra
  }
}

type Signer = (data: string) => Buffer
const HASH: Record<string, string> = { 256: 'sha256', 384: 'sha384', 512: 'sha512' }

/** Signs as algorithm `alg` with `key`, with node:crypto only (whatever the key's real type). */
function signer (alg: string, key: KeyObject | string | Buffer): Signer {
  const hash = HASH[alg.slice(2)]
  if (alg.startsWith('HS')) return data => createHmac(hash, key as string | Buffer).update(data).digest()
  if (alg.startsWith('PS')) {
    return data => cryptoSign(hash, Buffer.from(data), { key: key as KeyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 })
  }
  if (alg.startsWith('ES')) return data => cryptoSign(hash, Buffer.from(data), { key: key as KeyObject, dsaEncoding: 'ieee-p1363' })
  if (alg === 'EdDSA') return data => cryptoSign(null, Buffer.from(data), key as KeyObject)
  return data => cryptoSign(hash, Buffer.from(data), key as KeyObject)
}

/** A compact JWS: the signature from a signer, raw bytes, or a literal third segment. */
function jws (header: Record<string, unknown>, payload: Record<string, unknown> | string, signature: Signer | Buffer | string): string {
  const signingInput = `${b64(JSON.stringify(header))}.${b64(typeof payload === 'string' ? payload : JSON.stringify(payload))}`
  const third = typeof signature === 'function' ? b64(signature(signingInput)) : typeof signature === 'string' ? signature : b64(signature)
  return `${signingInput}.${third}`
}

/** Tokens of both types with one header and signer. */
const forged = (header: Record<string, unknown>, sign: Signer | Buffer | string, extra: Record<string, unknown> = {}): Make =>
  type => jws(header, claims(type, extra), sign)

// The genuine signers and headers of each deployment: the positive controls of the harness.
const GENUINE = {
  hs: { header: { alg: 'HS256', typ: 'JWT' }, sign: signer('HS256', TEST_KEY) },
  rs: { header: { alg: 'RS256', typ: 'JWT', kid: RS_KID }, sign: signer('RS256', rsa.privateKey) },
  es: { header: { alg: 'ES256', typ: 'JWT', kid: ES_KID }, sign: signer('ES256', p256.privateKey) }
}

function hello (app: FastifyInstance, token: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url: '/api/hello/', headers: bearer(token) })
}

function post (app: FastifyInstance, path: string, payload: Record<string, string>): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: `/api/token/${path}`, payload })
}

/** Refused at hello (access), verify (both types), refresh and blacklist (refresh), with the exact bodies. */
async function assertRefused (t: Assert, app: FastifyInstance, make: Make, label: string): Promise<void> {
  const access = make('access')
  const refresh = make('refresh')
  const greeting = await hello(app, access)
  t.equal(greeting.statusCode, 401, `${label}: hello 401`)
  t.same(greeting.json(), HELLO_INVALID, `${label}: hello body`)
  for (const [route, body] of [['verify/', { token: access }], ['verify/', { token: refresh }], ['refresh/', { refresh }], ['blacklist/', { refresh }]] as const) {
    const res = await post(app, route, body)
    t.equal(res.statusCode, 401, `${label}: ${route} ${Object.values(body)[0] === access ? 'access' : 'refresh'} 401`)
    t.same(res.json(), INVALID, `${label}: ${route} body`)
  }
}

/** Accepted everywhere: proves that a refusal comes from the attack, not from a broken harness. */
async function assertAccepted (t: Assert, app: FastifyInstance, make: Make, label: string): Promise<void> {
  const greeting = await hello(app, make('access'))
  t.equal(greeting.statusCode, 200, `${label}: hello 200`)
  t.equal(greeting.body, '{"msg":"Hello Peter Parker"}', `${label}: hello body`)
  for (const type of ['access', 'refresh'] as const) {
    const verified = await post(app, 'verify/', { token: make(type) })
    t.equal(verified.statusCode, 200, `${label}: verify ${type} 200`)
  }
  const refreshed = await post(app, 'refresh/', { refresh: make('refresh') })
  t.equal(refreshed.statusCode, 200, `${label}: refresh 200`)
}

/** The app-minted pair of a deployment, transformed. */
const fromMinted = (pair: { access: string, refresh: string }, transform: (token: string) => string): Make => type => transform(pair[type])

const segments = (token: string) => token.split('.') as [string, string, string]
const withSignature = (token: string, change: (signature: Buffer) => Buffer) => {
  const [h, p, s] = segments(token)
  return `${h}.${p}.${b64(change(Buffer.from(s, 'base64url')))}`
}
const withPayload = (token: string, change: (payload: Record<string, unknown>) => Record<string, unknown>) => {
  const [h, p, s] = segments(token)
  return `${h}.${b64(JSON.stringify(change(JSON.parse(Buffer.from(p, 'base64url').toString()))))}.${s}`
}
const withHeader = (token: string, change: (header: Record<string, unknown>) => Record<string, unknown>) => {
  const [h, p, s] = segments(token)
  return `${b64(JSON.stringify(change(JSON.parse(Buffer.from(h, 'base64url').toString()))))}.${p}.${s}`
}
const flipBit = (bytes: Buffer, index: number, bit = 0) => {
  const copy = Buffer.from(bytes)
  copy[index < 0 ? copy.length + index : index] ^= 1 << bit
  return copy
}

const DEPLOYMENTS = [['HS256', hs, 'hs'], ['RS256', rs, 'rs'], ['ES256', es, 'es']] as const

t.test('the harness: genuine tokens signed here are accepted', async t => {
  await assertAccepted(t, hs, forged(GENUINE.hs.header, GENUINE.hs.sign), 'HS256')
  await assertAccepted(t, rs, forged(GENUINE.rs.header, GENUINE.rs.sign), 'RS256')
  await assertAccepted(t, rs, forged({ alg: 'RS256', typ: 'JWT' }, GENUINE.rs.sign), 'RS256 without kid')
  await assertAccepted(t, es, forged(GENUINE.es.header, GENUINE.es.sign), 'ES256')
  await assertAccepted(t, es, forged({ alg: 'ES256', typ: 'JWT' }, GENUINE.es.sign), 'ES256 without kid')
  await assertAccepted(t, esRotated, forged(GENUINE.es.header, GENUINE.es.sign), 'ES256, current key of a rotated deployment')
  await assertAccepted(t, esRotated, forged({ alg: 'ES256', typ: 'JWT', kid: RETIRED_KID }, signer('ES256', p256Retired.privateKey)), 'the retired key, by kid')
  await assertAccepted(t, esRotated, forged({ alg: 'ES256', typ: 'JWT' }, signer('ES256', p256Retired.privateKey)), 'the retired key, without kid')
  await assertAccepted(t, rsMixed, forged(GENUINE.rs.header, GENUINE.rs.sign), 'RS256 on the mixed deployment')
  await assertAccepted(t, rsMixed, forged({ alg: 'HS256', typ: 'JWT', kid: OCT_KID }, signer('HS256', OLD_SECRET)), 'the retired HMAC secret, by kid')
  await assertAccepted(t, hsRetiredRs, forged({ alg: 'HS256', typ: 'JWT', kid: hmacKid(TEST_KEY) }, GENUINE.hs.sign), 'HS256 + retired RSA: the secret, by kid')
  await assertAccepted(t, hsRetiredRs, forged(GENUINE.hs.header, GENUINE.hs.sign), 'HS256 + retired RSA: the secret, no kid')
  await assertAccepted(t, hsRetiredRs, forged(GENUINE.rs.header, GENUINE.rs.sign), 'HS256 + retired RSA: the retired RSA key')
  for (const [alg, app, name] of DEPLOYMENTS) await assertAccepted(t, app, fromMinted(minted[name], token => token), `${alg} minted by the app`)
})

t.test('alg "none", in any case, with or without a signature', async t => {
  for (const [alg, app, name] of DEPLOYMENTS) {
    const genuine = GENUINE[name]
    for (const none of ['none', 'None', 'NONE', 'nOnE']) {
      const header = { ...genuine.header, alg: none }
      await assertRefused(t, app, forged(header, ''), `${alg} deployment, alg ${none}, empty signature`)
      await assertRefused(t, app, forged({ alg: none, typ: 'JWT' }, ''), `${alg} deployment, alg ${none} without kid, empty signature`)
      await assertRefused(t, app, forged(header, genuine.sign), `${alg} deployment, alg ${none} with a genuine signature`)
      await assertRefused(t, app, forged(header, 'AAAA'), `${alg} deployment, alg ${none} with junk`)
    }
    // A genuine token relabelled none, its signature kept or dropped.
    await assertRefused(t, app, fromMinted(minted[name], token => withHeader(token, h => ({ ...h, alg: 'none' }))), `${alg}: minted, relabelled none`)
    await assertRefused(t, app, fromMinted(minted[name], token => `${segments(withHeader(token, h => ({ ...h, alg: 'none' }))).slice(0, 2).join('.')}.`),
      `${alg}: minted, relabelled none, signature dropped`)
  }
})

t.test('odd alg values', async t => {
  for (const [alg, app, name] of DEPLOYMENTS) {
    const genuine = GENUINE[name]
    for (const odd of [alg.toLowerCase(), `${alg} `, ` ${alg}`, [alg], null, 256, '', undefined]) {
      await assertRefused(t, app, forged({ ...genuine.header, alg: odd }, genuine.sign), `${alg} deployment, alg ${JSON.stringify(odd)}`)
    }
  }
})

t.test('algorithm confusion: HS256 keyed with the public key', async t => {
  const rsJwks = (await rs.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as { keys: Array<Record<string, unknown>> }
  const esJwks = (await es.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as { keys: Array<Record<string, unknown>> }
  const publicForms = (key: KeyObject, jwk: Record<string, unknown>): Array<[string, string | Buffer]> => [
    ['the SPKI PEM', publicPem(key)],
    ['the SPKI PEM without its newline', publicPem(key).trimEnd()],
    ['the DER', key.export({ type: 'spki', format: 'der' })],
    ['the JWK JSON', JSON.stringify(jwk)],
    ['the JWK JSON without kid, alg and use', JSON.stringify(publicJwk(key))]
  ]
  const rsForms: Array<[string, string | Buffer]> = [
    ...publicForms(rsa.publicKey, rsJwks.keys[0]),
    ['the PKCS#1 PEM', rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString()]
  ]
  const targets = [
    ['RS256', rs, RS_KID, rsForms], ['ES256', es, ES_KID, publicForms(p256.publicKey, esJwks.keys[0])], ['RS256 + retired HMAC', rsMixed, RS_KID, rsForms],
    ['HS256 + retired RSA', hsRetiredRs, RS_KID, rsForms]
  ] as const
  for (const [deployment, app, kid, forms] of targets) {
    for (const [form, secret] of forms) {
      for (const hmac of ['HS256', 'HS384', 'HS512']) {
        await assertRefused(t, app, forged({ alg: hmac, typ: 'JWT', kid }, signer(hmac, secret)), `${deployment}: ${hmac} keyed with ${form}, the deployment's kid`)
      }
      await assertRefused(t, app, forged({ alg: 'HS256', typ: 'JWT' }, signer('HS256', secret)), `${deployment}: HS256 keyed with ${form}, no kid`)
    }
  }
  // On the deployment that knows an HMAC kid: naming it does not make the public key a secret.
  await assertRefused(t, rsMixed, forged({ alg: 'HS256', typ: 'JWT', kid: OCT_KID }, signer('HS256', publicPem(rsa.publicKey))),
    'RS256 + retired HMAC: HS256 keyed with the PEM, naming the HMAC kid')
  await assertRefused(t, rsMixed, forged({ alg: 'HS256', typ: 'JWT', kid: hmacKid(publicPem(rsa.publicKey)) }, signer('HS256', publicPem(rsa.publicKey))),
    'RS256 + retired HMAC: HS256 keyed with the PEM, naming the PEM\'s own HMAC kid')
  await assertRefused(t, rs, forged({ alg: 'HS256', typ: 'JWT', kid: hmacKid(publicPem(rsa.publicKey)) }, signer('HS256', publicPem(rsa.publicKey))),
    'RS256: HS256 keyed with the PEM, naming the PEM\'s HMAC kid')
  // A genuine RS256 signature sent under the HMAC kid: the HMAC key verifies HS256 only.
  await assertRefused(t, rsMixed, forged({ alg: 'RS256', typ: 'JWT', kid: OCT_KID }, GENUINE.rs.sign), 'RS256 + retired HMAC: a genuine RS256 token naming the HMAC kid')
  await assertRefused(t, rsMixed, forged({ alg: 'HS256', typ: 'JWT', kid: RS_KID }, signer('HS256', OLD_SECRET)), 'RS256 + retired HMAC: the HMAC secret under the RSA kid')
})

t.test('ECDSA r = s = 0 and other impossible signatures ("psychic signatures", CVE-2022-21449)', async t => {
  const n = Buffer.from('FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551', 'hex')
  const signatures: Array<[string, Buffer]> = [
    ['64 zero bytes', Buffer.alloc(64)],
    ['DER-encoded zeros', Buffer.from('3006020100020100', 'hex')],
    ['r = s = n', Buffer.concat([n, n])],
    ['r = 0, s = 1', Buffer.concat([Buffer.alloc(32), Buffer.alloc(31), Buffer.from([1])])],
    ['r = s = 1', Buffer.concat([Buffer.alloc(31), Buffer.from([1]), Buffer.alloc(31), Buffer.from([1])])],
    ['65 zero bytes', Buffer.alloc(65)],
    ['one zero byte', Buffer.alloc(1)]
  ]
  for (const app of [es, esRotated]) {
    const name = app === es ? 'ES256' : 'ES256 rotated'
    for (const [label, signature] of signatures) {
      await assertRefused(t, app, forged({ alg: 'ES256', typ: 'JWT', kid: ES_KID }, signature), `${name}: ${label}, current kid`)
      await assertRefused(t, app, forged({ alg: 'ES256', typ: 'JWT' }, signature), `${name}: ${label}, no kid`)
    }
    await assertRefused(t, app, forged({ alg: 'ES256', typ: 'JWT', kid: RETIRED_KID }, Buffer.alloc(64)), `${name}: 64 zero bytes, retired kid`)
    // A genuine signature in DER rather than JOSE's raw r‖s is refused too: one token, one spelling.
    const der: Signer = data => cryptoSign('sha256', Buffer.from(data), { key: p256.privateKey, dsaEncoding: 'der' })
    await assertRefused(t, app, forged({ alg: 'ES256', typ: 'JWT', kid: ES_KID }, der), `${name}: a genuine DER signature`)
  }
})

t.test('broken signatures: stripped, truncated, one flipped bit; tampered payload or header', async t => {
  for (const [alg, app, name] of DEPLOYMENTS) {
    const pair = minted[name]
    const cases: Array<[string, (token: string) => string]> = [
      ['signature stripped', token => `${segments(token).slice(0, 2).join('.')}.`],
      ['signature and its dot stripped', token => segments(token).slice(0, 2).join('.')],
      ['last signature byte dropped', token => withSignature(token, s => s.subarray(0, s.length - 1))],
      ['half the signature', token => withSignature(token, s => s.subarray(0, s.length / 2))],
      ['last 2 characters dropped', token => token.slice(0, -2)],
      ['a zero byte appended', token => withSignature(token, s => Buffer.concat([s, Buffer.alloc(1)]))],
      ['first bit flipped', token => withSignature(token, s => flipBit(s, 0))],
      ['last bit flipped', token => withSignature(token, s => flipBit(s, -1, 7))],
      ['a middle bit flipped', token => withSignature(token, s => flipBit(s, 20, 3))],
      ['the signature of the other token type', token => `${segments(token).slice(0, 2).join('.')}.${segments(token === pair.access ? pair.refresh : pair.access)[2]}`],
      ['payload names user 2', token => withPayload(token, p => ({ ...p, user_id: 2 }))],
      ['payload exp pushed back a day', token => withPayload(token, p => ({ ...p, exp: (p.exp as number) + 86400 }))],
      ['payload with an extra claim', token => withPayload(token, p => ({ ...p, is_staff: true }))],
      ['payload re-serialised with spaces', token => {
        const [h, p, s] = segments(token)
        return `${h}.${b64(JSON.stringify(JSON.parse(Buffer.from(p, 'base64url').toString()), null, 1))}.${s}`
      }],
      ['header typ changed', token => withHeader(token, h => ({ ...h, typ: 'at+jwt' }))],
      ['header gains a member', token => withHeader(token, h => ({ ...h, cty: 'JWT' }))]
    ]
    for (const [label, transform] of cases) {
      await assertRefused(t, app, fromMinted(pair, transform), `${alg}: ${label}`)
    }
    // The refresh token's payload made an access token, signature kept.
    await assertRefused(t, app, () => withPayload(pair.refresh, p => ({ ...p, token_type: 'access' })), `${alg}: a refresh payload retyped access`)
  }
})

t.test('a token from another key of the same algorithm', async t => {
  await assertRefused(t, hs, forged({ alg: 'HS256', typ: 'JWT' }, signer('HS256', ATTACKER_SECRET)), 'HS256: another secret')
  await assertRefused(t, hs, forged({ alg: 'HS256', typ: 'JWT', kid: hmacKid(TEST_KEY) }, signer('HS256', ATTACKER_SECRET)), 'HS256: another secret, the real kid')
  await assertRefused(t, hs, forged({ alg: 'HS256', typ: 'JWT' }, signer('HS256', '')), 'HS256: the empty secret')
  await assertRefused(t, hs, forged({ alg: 'HS256', typ: 'JWT' }, signer('HS256', TEST_KEY.slice(0, -1))), 'HS256: the secret minus its last character')
  for (const [alg, app, kid, key, attackerKey] of [
    ['RS256', rs, RS_KID, rsa, rsaAttacker], ['ES256', es, ES_KID, p256, p256Attacker], ['ES256 rotated', esRotated, ES_KID, p256, p256Attacker]
  ] as const) {
    const sign = signer(alg.slice(0, 5), attackerKey.privateKey)
    await assertRefused(t, app, forged({ alg: alg.slice(0, 5), typ: 'JWT', kid }, sign), `${alg}: the attacker's key under the deployment's kid`)
    await assertRefused(t, app, forged({ alg: alg.slice(0, 5), typ: 'JWT', kid: kidOf(attackerKey.publicKey) }, sign), `${alg}: the attacker's key under its own kid`)
    await assertRefused(t, app, forged({ alg: alg.slice(0, 5), typ: 'JWT' }, sign), `${alg}: the attacker's key, no kid`)
    t.not(kidOf(key.publicKey), kidOf(attackerKey.publicKey))
  }
})

t.test('another algorithm of the same family, signed with the deployment\'s own key', async t => {
  const cases: Array<[string, FastifyInstance, string, KeyObject | string, string | undefined]> = [
    ['RS256', rs, 'RS384', rsa.privateKey, RS_KID],
    ['RS256', rs, 'RS512', rsa.privateKey, RS_KID],
    ['RS256', rs, 'PS256', rsa.privateKey, RS_KID],
    ['RS256', rs, 'PS512', rsa.privateKey, undefined],
    ['RS256', rs, 'RS384', rsa.privateKey, undefined],
    ['HS256', hs, 'HS512', TEST_KEY, undefined],
    ['HS256', hs, 'HS384', TEST_KEY, undefined],
    ['ES256', es, 'ES384', p256.privateKey, ES_KID],
    ['ES256', es, 'ES512', p256.privateKey, ES_KID],
    ['ES256', es, 'ES384', p384.privateKey, ES_KID],
    ['ES256', es, 'ES384', p384.privateKey, kidOf(p384.publicKey)],
    ['ES256 rotated', esRotated, 'ES384', p256.privateKey, undefined],
    ['RS256 + retired HMAC', rsMixed, 'HS512', OLD_SECRET, OCT_KID],
    ['RS256 + retired HMAC', rsMixed, 'PS256', rsa.privateKey, RS_KID]
  ]
  for (const [deployment, app, alg, key, kid] of cases) {
    const header = kid === undefined ? { alg, typ: 'JWT' } : { alg, typ: 'JWT', kid }
    await assertRefused(t, app, forged(header, signer(alg, key)), `${deployment}: ${alg}${kid === undefined ? '' : ' with kid'}`)
  }
  // Other families altogether: the attacker's EdDSA and RSA keys against ES256, and so on.
  await assertRefused(t, es, forged({ alg: 'EdDSA', typ: 'JWT', kid: ES_KID }, signer('EdDSA', ed25519Attacker.privateKey)), 'ES256: an EdDSA token')
  await assertRefused(t, es, forged({ alg: 'RS256', typ: 'JWT' }, signer('RS256', rsa.privateKey)), 'ES256: an RS256 token of the RS256 deployment\'s key')
  await assertRefused(t, rs, forged({ alg: 'ES256', typ: 'JWT', kid: ES_KID }, GENUINE.es.sign), 'RS256: a genuine token of the ES256 deployment')
  await assertRefused(t, hs, forged(GENUINE.rs.header, GENUINE.rs.sign), 'HS256: a genuine RS256 token')
  // Genuine tokens of one deployment at another.
  await assertRefused(t, es, fromMinted(minted.rs, token => token), 'ES256: a token minted by the RS256 deployment')
  await assertRefused(t, rs, fromMinted(minted.hs, token => token), 'RS256: a token minted by the HS256 deployment')
  await assertRefused(t, hs, fromMinted(minted.es, token => token), 'HS256: a token minted by the ES256 deployment')
})

t.test('a retired key, once removed from the configuration', async t => {
  const retired = signer('ES256', p256Retired.privateKey)
  // Accepted where it is configured (see the harness test); refused where it is not.
  await assertRefused(t, es, forged({ alg: 'ES256', typ: 'JWT', kid: RETIRED_KID }, retired), 'ES256: the removed key, by its kid')
  await assertRefused(t, es, forged({ alg: 'ES256', typ: 'JWT' }, retired), 'ES256: the removed key, no kid')
  await assertRefused(t, es, forged({ alg: 'ES256', typ: 'JWT', kid: ES_KID }, retired), 'ES256: the removed key under the current kid')
  await assertRefused(t, rs, forged({ alg: 'HS256', typ: 'JWT', kid: OCT_KID }, signer('HS256', OLD_SECRET)), 'RS256: a removed HMAC secret, by its kid')
  await assertRefused(t, rs, forged({ alg: 'HS256', typ: 'JWT' }, signer('HS256', OLD_SECRET)), 'RS256: a removed HMAC secret, no kid')
  // A kid picks one key: the current key's signature under the retired kid, and the other way round.
  await assertRefused(t, esRotated, forged({ alg: 'ES256', typ: 'JWT', kid: RETIRED_KID }, GENUINE.es.sign), 'ES256 rotated: the current key under the retired kid')
  await assertRefused(t, esRotated, forged({ alg: 'ES256', typ: 'JWT', kid: ES_KID }, retired), 'ES256 rotated: the retired key under the current kid')
})

t.test('kid injection', async t => {
  const strings = ['unknown', '../../etc/passwd', '/dev/null', '../../../../../../dev/null', 'file:///etc/passwd', 'http://127.0.0.1:1/key',
    "' OR '1'='1", '"; DROP TABLE users; --', '', ' ', `${ES_KID} `, ES_KID.toLowerCase(), '__proto__', 'constructor', 'toString', 'a'.repeat(4000)]
  const nonStrings = [123, 0, null, true, false, [ES_KID], { kid: ES_KID }, []]
  for (const [deployment, app, genuine] of [
    ['ES256', es, GENUINE.es], ['ES256 rotated', esRotated, GENUINE.es], ['RS256', rs, GENUINE.rs], ['RS256 + retired HMAC', rsMixed, GENUINE.rs], ['HS256', hs, GENUINE.hs]
  ] as const) {
    for (const kid of [...strings, ...nonStrings]) {
      // Genuinely signed: only the kid is wrong, and a kid naming no configured key is refused.
      await assertRefused(t, app, forged({ ...genuine.header, kid }, genuine.sign), `${deployment}: kid ${JSON.stringify(kid).slice(0, 40)}`)
    }
  }
  // The HMAC kid on an asymmetric deployment that has none, and on one that has one.
  await assertRefused(t, rs, forged({ alg: 'RS256', typ: 'JWT', kid: hmacKid(TEST_KEY) }, GENUINE.rs.sign), 'RS256: a genuine token naming an HMAC kid')
  await assertRefused(t, es, forged({ alg: 'HS256', typ: 'JWT', kid: hmacKid(TEST_KEY) }, signer('HS256', TEST_KEY)), 'ES256: an HMAC token naming its own kid')
  await assertRefused(t, rsMixed, forged({ alg: 'HS256', typ: 'JWT', kid: OCT_KID }, signer('HS256', ATTACKER_SECRET)), 'RS256 + retired HMAC: the HMAC kid, another secret')
  // Another deployment's kid, genuinely signed by that deployment.
  await assertRefused(t, rs, forged(GENUINE.es.header, GENUINE.es.sign), 'RS256: the ES256 deployment\'s kid and key')
})

t.test('key-pointing headers: jku, x5u, jwk and x5c are never followed', async t => {
  const attackers = [
    ['RS256', rs, GENUINE.rs, rsaAttacker, rsa],
    ['ES256', es, GENUINE.es, p256Attacker, p256],
    ['ES256 rotated', esRotated, GENUINE.es, p256Attacker, p256]
  ] as const
  for (const [deployment, app, genuine, attacker, own] of attackers) {
    const alg = genuine.header.alg
    const attackerSign = signer(alg, attacker.privateKey)
    const attackerKid = kidOf(attacker.publicKey)
    const attackerJwk = { ...publicJwk(attacker.publicKey), kid: attackerKid, alg, use: 'sig' }
    const der = attacker.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')
    const pointers: Array<[string, Record<string, unknown>]> = [
      ['jku', { jku: 'https://attacker.example/.well-known/jwks.json' }],
      ['jku on loopback', { jku: 'http://127.0.0.1:1/jwks.json' }],
      ['x5u', { x5u: 'https://attacker.example/cert.pem' }],
      ['jwk', { jwk: attackerJwk }],
      ['x5c', { x5c: [der] }]
    ]
    for (const [label, pointer] of pointers) {
      // The attacker's own key, embedded or pointed at, with its kid or the deployment's, or none.
      await assertRefused(t, app, forged({ alg, typ: 'JWT', kid: attackerKid, ...pointer }, attackerSign), `${deployment}: ${label}, the attacker's key and kid`)
      await assertRefused(t, app, forged({ alg, typ: 'JWT', kid: genuine.header.kid, ...pointer }, attackerSign), `${deployment}: ${label}, the attacker's key, the deployment's kid`)
      await assertRefused(t, app, forged({ alg, typ: 'JWT', ...pointer }, attackerSign), `${deployment}: ${label}, the attacker's key, no kid`)
    }
    // Even genuinely signed, a token carrying such a header is refused (RFC 8725 §3.10).
    const ownJwk = { ...publicJwk(own.publicKey), kid: genuine.header.kid, alg, use: 'sig' }
    for (const pointer of [{ jku: 'https://attacker.example/jwks.json' }, { x5u: 'https://attacker.example/cert.pem' }, { jwk: ownJwk }, { x5c: [own.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')] }]) {
      await assertRefused(t, app, forged({ ...genuine.header, ...pointer }, genuine.sign), `${deployment}: genuine, with ${Object.keys(pointer)[0]}`)
    }
  }
  // HMAC: an embedded "oct" key with the attacker's secret, and a genuine token with a jku.
  const oct = { kty: 'oct', k: b64(ATTACKER_SECRET), alg: 'HS256' }
  await assertRefused(t, hs, forged({ alg: 'HS256', typ: 'JWT', jwk: oct }, signer('HS256', ATTACKER_SECRET)), 'HS256: jwk with the attacker\'s secret')
  await assertRefused(t, hs, forged({ alg: 'HS256', typ: 'JWT', jku: 'https://attacker.example/jwks.json' }, GENUINE.hs.sign), 'HS256: genuine, with jku')
  await assertRefused(t, hs, forged({ alg: 'HS256', typ: 'JWT', x5c: [] }, GENUINE.hs.sign), 'HS256: genuine, with an empty x5c')
  await assertRefused(t, hs, forged({ alg: 'HS256', typ: 'JWT', jwk: null }, GENUINE.hs.sign), 'HS256: genuine, with jwk null')
})

t.test('oversized tokens are refused quickly, never with a 5xx', async t => {
  // A genuine token padded to a given length with a claim.
  const padded = (type: TokenType, length: number, genuine: { header: Record<string, unknown>, sign: Signer }) => {
    const bare = jws(genuine.header, claims(type, { pad: '' }), genuine.sign).length
    let pad = Math.max(0, Math.floor((length - bare) * 3 / 4) - 2)
    let token = jws(genuine.header, claims(type, { pad: 'x'.repeat(pad) }), genuine.sign)
    while (token.length < length) token = jws(genuine.header, claims(type, { pad: 'x'.repeat(++pad) }), genuine.sign)
    return token
  }
  t.equal(MAX_TOKEN_LENGTH, 8192)
  // Just under the limit is fine, as a control.
  const near = padded('access', 8100, GENUINE.hs)
  t.ok(near.length <= MAX_TOKEN_LENGTH && near.length >= 8100, `${near.length} characters`)
  t.equal((await hello(hs, near)).statusCode, 200, 'a genuine token of 8100 characters says hello')
  for (const [deployment, app, genuine] of [['HS256', hs, GENUINE.hs], ['RS256', rs, GENUINE.rs], ['ES256', es, GENUINE.es]] as const) {
    for (const length of [MAX_TOKEN_LENGTH + 1, 9000, 60_000]) {
      const make: Make = type => padded(type, length, genuine)
      t.ok(make('access').length > MAX_TOKEN_LENGTH, `${deployment}: ${make('access').length} characters`)
      const started = performance.now()
      await assertRefused(t, app, make, `${deployment}: a genuine token of ${length}+ characters`)
      t.ok(performance.now() - started < 2000, `${deployment}: ${length}: refused quickly`)
    }
  }
  // Junk of the same sizes: one huge segment, many dots, a huge header.
  const junk: Array<[string, string]> = [
    ['one long segment', 'a'.repeat(60_000)],
    ['dots', '.'.repeat(10_000)],
    ['a huge header', `${b64(JSON.stringify({ alg: 'HS256', typ: 'JWT', x: 'y'.repeat(40_000) }))}.${b64('{}')}.AAAA`],
    ['a huge payload of nested arrays', `${b64('{"alg":"HS256","typ":"JWT"}')}.${b64('['.repeat(40_000))}.AAAA`]
  ]
  for (const [label, token] of junk) {
    const started = performance.now()
    await assertRefused(t, hs, () => token, `junk: ${label}`)
    t.ok(performance.now() - started < 2000, `junk: ${label}: refused quickly`)
  }
})
