// Every JOSE algorithm end to end, the JWKS document checked with jose, key rotation, and the development key
import { createHmac, createPrivateKey, createPublicKey } from 'node:crypto'
import t from 'tap'
import { eq } from 'drizzle-orm'
import { calculateJwkThumbprint, createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWK } from 'jose'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { ALGORITHMS, generateKey, hmacKid, isHmac, thumbprint, type Algorithm } from '../../src/domain/keys.js'
import { appSecrets } from '../../src/db/schema.js'
import { bearer, build, Clock, createUser, decodeParts, obtainPair, testDatabase } from '../helper.js'

const clock = new Clock()
const database = await testDatabase(t)
// The users every app of this file authenticates: one database, never truncated (it also holds the development keys).
const base = await build(t, {}, { clock, database })
await createUser(base)

// Keys, made once: one RSA key serves every RS* and PS* algorithm.
const rsaKey = generateKey('RS256')
const rsaKey2 = generateKey('RS256')
const KEYS: Record<Algorithm, { signingKey: string, verifyingKey?: string, kid: string }> = Object.fromEntries(ALGORITHMS.map(alg => [
  alg, alg.startsWith('RS') || alg.startsWith('PS') ? rsaKey : generateKey(alg)
])) as Record<Algorithm, { signingKey: string, verifyingKey?: string, kid: string }>

/** Bytes of a signature for each algorithm (RSA: a 2048-bit key; ECDSA: raw r‖s). */
const SIGNATURE_BYTES: Record<Algorithm, number> = {
  HS256: 32,
  HS384: 48,
  HS512: 64,
  RS256: 256,
  RS384: 256,
  RS512: 256,
  PS256: 256,
  PS384: 256,
  PS512: 256,
  ES256: 64,
  ES384: 96,
  ES512: 132,
  EdDSA: 64
}

const HELLO_INVALID = {
  detail: 'Given token not valid for any token type',
  code: 'token_not_valid',
  messages: [{ token_class: 'AccessToken', token_type: 'access', message: 'Token is invalid or expired' }]
}
const INVALID = { detail: 'Token is invalid or expired', code: 'token_not_valid' }
const BLACKLISTED = { detail: 'Token is blacklisted', code: 'token_not_valid' }
const GREETING = '{"msg":"Hello Peter Parker"}'

type Assert = Pick<typeof t, 'equal' | 'same' | 'match'>

function hello (app: FastifyInstance, token: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url: '/api/hello/', headers: bearer(token) })
}

function post (app: FastifyInstance, path: string, payload: Record<string, string>): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: `/api/token/${path}`, payload })
}

async function getJwks (app: FastifyInstance): Promise<JSONWebKeySet> {
  const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  if (res.statusCode !== 200) throw new Error(`jwks: ${res.statusCode} ${res.body}`)
  return res.json()
}

/** A token that works everywhere it should: hello (access), verify, refresh (refresh). */
async function assertAccepted (t: Assert, app: FastifyInstance, pair: { access: string, refresh: string }, label: string) {
  const greeting = await hello(app, pair.access)
  t.equal(greeting.statusCode, 200, `${label}: hello 200`)
  t.equal(greeting.body, GREETING, `${label}: hello body`)
  for (const token of [pair.access, pair.refresh]) {
    const verified = await post(app, 'verify/', { token })
    t.equal(verified.statusCode, 200, `${label}: verify 200`)
    t.same(verified.json(), {}, `${label}: verify body`)
  }
  const refreshed = await post(app, 'refresh/', { refresh: pair.refresh })
  t.equal(refreshed.statusCode, 200, `${label}: refresh 200`)
  t.same(Object.keys(refreshed.json()), ['access'], `${label}: refresh body`)
  return refreshed.json().access as string
}

/** A token refused everywhere with the contract's exact bodies. */
async function assertRefused (t: Assert, app: FastifyInstance, pair: { access: string, refresh: string }, label: string) {
  const greeting = await hello(app, pair.access)
  t.equal(greeting.statusCode, 401, `${label}: hello 401`)
  t.same(greeting.json(), HELLO_INVALID, `${label}: hello body`)
  for (const token of [pair.access, pair.refresh]) {
    const verified = await post(app, 'verify/', { token })
    t.equal(verified.statusCode, 401, `${label}: verify 401`)
    t.same(verified.json(), INVALID, `${label}: verify body`)
  }
  const refreshed = await post(app, 'refresh/', { refresh: pair.refresh })
  t.equal(refreshed.statusCode, 401, `${label}: refresh 401`)
  t.same(refreshed.json(), INVALID, `${label}: refresh body`)
  const blacklisted = await post(app, 'blacklist/', { refresh: pair.refresh })
  t.equal(blacklisted.statusCode, 401, `${label}: blacklist 401`)
  t.same(blacklisted.json(), INVALID, `${label}: blacklist body`)
}

/** Checks a token against a JWKS document with jose, independently of the app. */
async function joseVerify (document: JSONWebKeySet, token: string, alg: Algorithm) {
  return jwtVerify(token, createLocalJWKSet(document), { algorithms: [alg], currentDate: new Date(clock.ms), typ: 'JWT' })
}

const signatureBytes = (token: string) => Buffer.from(token.split('.')[2], 'base64url').length

for (const alg of ALGORITHMS) {
  t.test(`${alg}: obtain, hello, refresh, verify, blacklist, JWKS`, async t => {
    const key = KEYS[alg]
    const app = await build(t, { JWT_ALGORITHM: alg, JWT_SIGNING_KEY: key.signingKey }, { clock, database })
    const pair = await obtainPair(app)

    // The header: simplejwt's exact {"alg","typ"} for one HMAC key; a kid for a public key.
    for (const token of [pair.access, pair.refresh]) {
      const { header } = decodeParts(token)
      if (isHmac(alg)) {
        t.strictSame(header, { alg, typ: 'JWT' }, 'header {"alg","typ"}')
        t.same(Object.keys(header), ['alg', 'typ'], 'in that order')
      } else {
        const publicJwk = createPublicKey(createPrivateKey(key.signingKey)).export({ format: 'jwk' })
        t.strictSame(header, { alg, typ: 'JWT', kid: await calculateJwkThumbprint(publicJwk as JWK, 'sha256') }, 'header {"alg","typ","kid"}, kid per RFC 7638')
        t.equal(header.kid, key.kid)
      }
      t.equal(signatureBytes(token), SIGNATURE_BYTES[alg], `a ${SIGNATURE_BYTES[alg]}-byte signature`)
    }
    if (isHmac(alg)) {
      // The signature is plain HMAC over the first two segments, as PyJWT computes it.
      const [h, p, s] = pair.access.split('.')
      const hash = `sha${alg.slice(2)}`
      t.equal(s, createHmac(hash, key.signingKey).update(`${h}.${p}`).digest('base64url'), 'an independent HMAC agrees')
    }

    const greeting = await hello(app, pair.access)
    t.equal(greeting.statusCode, 200)
    t.equal(greeting.body, GREETING)

    const refreshed = await post(app, 'refresh/', { refresh: pair.refresh })
    t.equal(refreshed.statusCode, 200, 'refresh 200')
    const { access } = refreshed.json() as { access: string }
    t.same(Object.keys(refreshed.json()), ['access'])
    t.same(decodeParts(access).header, decodeParts(pair.access).header, 'the refreshed token has the same header')
    t.equal(signatureBytes(access), SIGNATURE_BYTES[alg])
    t.equal((await hello(app, access)).body, GREETING, 'the refreshed access token says hello')

    for (const token of [pair.access, pair.refresh, access]) {
      const verified = await post(app, 'verify/', { token })
      t.equal(verified.statusCode, 200, 'verify 200')
      t.same(verified.json(), {})
    }

    const blacklisted = await post(app, 'blacklist/', { refresh: pair.refresh })
    t.equal(blacklisted.statusCode, 200, 'blacklist 200')
    t.same(blacklisted.json(), {})
    const again = await post(app, 'refresh/', { refresh: pair.refresh })
    t.equal(again.statusCode, 401, 'a blacklisted refresh token no longer refreshes')
    t.same(again.json(), BLACKLISTED)

    const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
    t.equal(res.statusCode, 200)
    t.equal(res.headers['cache-control'], 'public, max-age=300')
    t.match(res.headers['content-type'], /^application\/json/)
    const document = res.json() as JSONWebKeySet
    if (isHmac(alg)) {
      t.strictSame(document, { keys: [] }, 'an HMAC deployment publishes no key')
      t.notOk(res.body.includes(key.signingKey), 'and never its secret')
    } else {
      const publicJwk = createPublicKey(createPrivateKey(key.signingKey)).export({ format: 'jwk' })
      t.strictSame(document, { keys: [{ ...publicJwk, kid: key.kid, alg, use: 'sig' }] }, 'the public key, with kid, alg and use')
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) t.notOk(member in document.keys[0], `no "${member}"`)
      // An independent library, given only the JWKS document, verifies our tokens.
      for (const token of [pair.access, access]) {
        const verified = await joseVerify(document, token, alg)
        t.strictSame(verified.payload, decodeParts(token).payload, 'jose verifies the token with the JWKS')
        t.strictSame(verified.protectedHeader, decodeParts(token).header)
      }
      const fromRefresh = await joseVerify(document, pair.refresh, alg)
      t.equal(fromRefresh.payload.token_type, 'refresh')
    }
  })
}

t.test('rotation: a retired key keeps verifying until it is removed', async t => {
  const key1 = generateKey('ES256')
  const key2 = generateKey('ES256')
  const appA = await build(t, { JWT_ALGORITHM: 'ES256', JWT_SIGNING_KEY: key1.signingKey }, { clock, database })
  const old = await obtainPair(appA)
  t.equal(decodeParts(old.access).header.kid, key1.kid)
  const jwksA = await getJwks(appA)

  // B: key 2 signs; key 1, as A published it, is retired.
  const appB = await build(t, {
    JWT_ALGORITHM: 'ES256', JWT_SIGNING_KEY: key2.signingKey, JWT_PREVIOUS_VERIFYING_KEYS: JSON.stringify(jwksA)
  }, { clock, database })
  const refreshedOnB = await assertAccepted(t, appB, old, 'A\'s tokens on B')
  t.same(decodeParts(refreshedOnB).header, { alg: 'ES256', typ: 'JWT', kid: key2.kid }, 'B re-signs with key 2')
  t.equal((await hello(appB, refreshedOnB)).body, GREETING)
  const fresh = await obtainPair(appB)
  t.same(decodeParts(fresh.access).header, { alg: 'ES256', typ: 'JWT', kid: key2.kid }, 'new tokens carry key 2\'s kid')
  t.same(decodeParts(fresh.refresh).header.kid, key2.kid)
  await assertAccepted(t, appB, fresh, 'B\'s own tokens')

  const jwksB = await getJwks(appB)
  t.same(jwksB.keys.map(k => k.kid), [key2.kid, key1.kid], 'B publishes the current key, then the retired one')
  t.same(jwksB.keys[1], jwksA.keys[0], 'the retired key as A published it')
  for (const token of [old.access, fresh.access, refreshedOnB]) {
    t.ok((await joseVerify(jwksB, token, 'ES256')).payload.jti, 'jose verifies old and new tokens with B\'s JWKS')
  }
  // A does not know key 2.
  await assertRefused(t, appA, fresh, 'B\'s tokens on A')

  // C: key 1 removed from the configuration.
  const appC = await build(t, { JWT_ALGORITHM: 'ES256', JWT_SIGNING_KEY: key2.signingKey }, { clock, database })
  await assertRefused(t, appC, old, 'A\'s tokens once key 1 is removed')
  await assertRefused(t, appC, { access: old.access, refresh: (await obtainPair(appA)).refresh }, 'a fresh token of key 1')
  await assertAccepted(t, appC, fresh, 'B\'s tokens on C')
  t.same((await getJwks(appC)).keys.map(k => k.kid), [key2.kid], 'C publishes key 2 only')
})

t.test('rotation across algorithm families: RS256 to ES256', async t => {
  const esKey = generateKey('ES256')
  const appRs = await build(t, { JWT_ALGORITHM: 'RS256', JWT_SIGNING_KEY: rsaKey2.signingKey }, { clock, database })
  const old = await obtainPair(appRs)
  t.same(decodeParts(old.access).header, { alg: 'RS256', typ: 'JWT', kid: rsaKey2.kid })
  const jwksRs = await getJwks(appRs)

  const appEs = await build(t, {
    JWT_ALGORITHM: 'ES256', JWT_SIGNING_KEY: esKey.signingKey, JWT_PREVIOUS_VERIFYING_KEYS: JSON.stringify(jwksRs)
  }, { clock, database })
  const refreshed = await assertAccepted(t, appEs, old, 'RS256 tokens on the ES256 deployment')
  t.same(decodeParts(refreshed).header, { alg: 'ES256', typ: 'JWT', kid: esKey.kid }, 're-signed with ES256')
  const fresh = await obtainPair(appEs)
  t.same(decodeParts(fresh.access).header, { alg: 'ES256', typ: 'JWT', kid: esKey.kid })
  t.equal(signatureBytes(fresh.access), 64)

  const jwksEs = await getJwks(appEs)
  t.same(jwksEs.keys.map(k => [k.kid, k.alg, k.kty]), [[esKey.kid, 'ES256', 'EC'], [rsaKey2.kid, 'RS256', 'RSA']])
  t.equal((await joseVerify(jwksEs, old.access, 'RS256')).payload.token_type, 'access', 'jose: the RS256 token with the new JWKS')
  t.equal((await joseVerify(jwksEs, fresh.access, 'ES256')).payload.token_type, 'access', 'jose: the ES256 token')

  // The retired RSA key verifies RS256 only: the same token relabelled PS256, or with its kid on an ES256 header, fails.
  const [, payload, signature] = old.access.split('.')
  const relabel = (header: Record<string, unknown>) => `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${payload}.${signature}`
  for (const header of [{ alg: 'PS256', typ: 'JWT', kid: rsaKey2.kid }, { alg: 'ES256', typ: 'JWT', kid: rsaKey2.kid }, { alg: 'RS256', typ: 'JWT', kid: esKey.kid }]) {
    const res = await post(appEs, 'verify/', { token: relabel(header) })
    t.equal(res.statusCode, 401, `relabelled ${JSON.stringify(header)}`)
    t.same(res.json(), INVALID)
  }
})

t.test('rotation of an HMAC secret with a retired "oct" key', async t => {
  const secret1 = generateKey('HS256').signingKey
  const secret2 = generateKey('HS256').signingKey
  const appH1 = await build(t, { JWT_SIGNING_KEY: secret1 }, { clock, database })
  const old = await obtainPair(appH1)
  t.same(decodeParts(old.access).header, { alg: 'HS256', typ: 'JWT' }, 'one key: no kid')

  const oct = { kty: 'oct', k: Buffer.from(secret1).toString('base64url'), alg: 'HS256' }
  const appH2 = await build(t, { JWT_SIGNING_KEY: secret2, JWT_PREVIOUS_VERIFYING_KEYS: JSON.stringify({ keys: [oct] }) }, { clock, database })
  const fresh = await obtainPair(appH2)
  t.same(decodeParts(fresh.access).header, { alg: 'HS256', typ: 'JWT', kid: hmacKid(secret2) }, 'with a retired key, new HMAC tokens carry a kid')
  t.equal(signatureBytes(fresh.access), 32)
  const refreshed = await assertAccepted(t, appH2, old, 'tokens without kid, signed with the retired secret')
  t.same(decodeParts(refreshed).header, { alg: 'HS256', typ: 'JWT', kid: hmacKid(secret2) }, 're-signed with the new secret')
  await assertAccepted(t, appH2, fresh, 'the new tokens')
  t.strictSame(await getJwks(appH2), { keys: [] }, 'secrets are never published')

  // H3: the retired secret removed; tokens of the new secret stay good, kid and all.
  const appH3 = await build(t, { JWT_SIGNING_KEY: secret2 }, { clock, database })
  await assertRefused(t, appH3, old, 'the old secret\'s tokens once it is removed')
  await assertAccepted(t, appH3, fresh, 'the new secret\'s tokens, with their kid, on one key')
  await assertAccepted(t, appH3, await obtainPair(appH3), 'and H3\'s own, without kid')

  // The retired secret is also reachable by its kid.
  const [, payload] = old.access.split('.')
  const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: hmacKid(secret1) })).toString('base64url')
  const withKid = `${header}.${payload}.${createHmac('sha256', secret1).update(`${header}.${payload}`).digest('base64url')}`
  t.equal((await hello(appH2, withKid)).statusCode, 200, 'a token naming the retired secret\'s kid')
  t.equal((await hello(appH3, withKid)).statusCode, 401, 'refused once it is removed')
})

t.test('development: without JWT_SIGNING_KEY an ES256 key is generated, stored and shared', async t => {
  const storedRow = async (name: string) => base.simplejwt.db.select().from(appSecrets).where(eq(appSecrets.name, name))
  t.same(await storedRow('jwt_signing_key:ES256'), [], 'no key yet')
  const [dev1, dev2] = await Promise.all([
    build(t, { JWT_ALGORITHM: 'ES256', JWT_SIGNING_KEY: undefined }, { clock, database }),
    build(t, { JWT_ALGORITHM: 'ES256', JWT_SIGNING_KEY: undefined }, { clock, database })
  ])
  const rows = await storedRow('jwt_signing_key:ES256')
  t.equal(rows.length, 1, 'one key stored, whoever started first')
  const stored = createPrivateKey(rows[0].value)
  t.equal(stored.asymmetricKeyType, 'ec')
  t.equal(stored.asymmetricKeyDetails?.namedCurve, 'prime256v1', 'a P-256 key for ES256')
  const kid = thumbprint(createPublicKey(stored).export({ format: 'jwk' }))

  const one = await obtainPair(dev1)
  const two = await obtainPair(dev2)
  t.same(decodeParts(one.access).header, { alg: 'ES256', typ: 'JWT', kid }, 'signed with the stored key')
  t.same(decodeParts(two.access).header, { alg: 'ES256', typ: 'JWT', kid })
  await assertAccepted(t, dev2, one, 'the first instance\'s tokens on the second')
  await assertAccepted(t, dev1, two, 'the second instance\'s tokens on the first')
  const jwks1 = await getJwks(dev1)
  t.same(jwks1, await getJwks(dev2), 'both publish the same key')
  t.same(jwks1.keys.map(k => k.kid), [kid])
  t.equal((await joseVerify(jwks1, two.access, 'ES256')).payload.user_id, 1)

  // A later start reads the same key; another algorithm gets a key of its own.
  const dev3 = await build(t, { JWT_ALGORITHM: 'ES256', JWT_SIGNING_KEY: undefined }, { clock, database })
  await assertAccepted(t, dev3, await obtainPair(dev1), 'a restart')
  const devEd = await build(t, { JWT_ALGORITHM: 'EdDSA', JWT_SIGNING_KEY: undefined }, { clock, database })
  const edRows = await storedRow('jwt_signing_key:EdDSA')
  t.equal(edRows.length, 1, 'EdDSA has its own stored key')
  t.equal(createPrivateKey(edRows[0].value).asymmetricKeyType, 'ed25519')
  const ed = await obtainPair(devEd)
  t.equal(decodeParts(ed.access).header.alg, 'EdDSA')
  await assertRefused(t, dev1, ed, 'the EdDSA instance\'s tokens on the ES256 one')
  t.equal((await storedRow('jwt_signing_key:ES256'))[0].value, rows[0].value, 'the ES256 key is unchanged')
})
