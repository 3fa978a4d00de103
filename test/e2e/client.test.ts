// The generated TypeScript client (clients/typescript, `npm run sdk`) against the real service on a real socket:
// the tutorial's whole flow, typed end to end by the app's own OpenAPI document.
import { readFileSync } from 'node:fs'
import t from 'tap'
import type { AddressInfo } from 'node:net'
import { bearer, createSimpleJwtClient, type Hello, type RefreshedTokens, type TokenError, type TokenPair } from '../../clients/typescript/index.js'
import { build, Clock, createUser, decodeParts } from '../helper.js'

const clock = new Clock()
const app = await build(t, {}, { clock })
await createUser(app)
await app.listen({ host: '127.0.0.1', port: 0 })
const { port } = app.server.address() as AddressInfo
const client = createSimpleJwtClient(`http://127.0.0.1:${port}`)

t.test('the committed client was generated from this very document', async t => {
  // A fast check in every test run; CI's `npm run sdk:check` also compares the generated types.
  const committed = JSON.parse(readFileSync(new URL('../../clients/typescript/openapi.json', import.meta.url), 'utf8'))
  t.same(committed, app.swagger(), 'clients/typescript/openapi.json is stale: run `npm run sdk`')
})

t.test('the tutorial through the generated client: obtain, hello, refresh, verify, blacklist', async t => {
  // Obtain: the body is typed (username and password, both strings), and so is the answer.
  const obtained = await client.POST('/api/token/', { body: { username: 'spiderman', password: 'underoos' } })
  t.equal(obtained.response.status, 200)
  if (obtained.data === undefined) throw new Error(`obtain failed: ${JSON.stringify(obtained.error)}`)
  const pair: TokenPair = obtained.data
  t.equal(decodeParts(pair.access).payload.token_type, 'access')
  t.equal(decodeParts(pair.refresh).payload.token_type, 'refresh')

  // Hello with the access token.
  const hello = await client.GET('/api/hello/', { headers: bearer(pair.access) })
  t.equal(hello.response.status, 200)
  const greeting: Hello | undefined = hello.data
  t.same(greeting, { msg: 'Hello Peter Parker' })

  // Hello without it: the 401 body is typed too, from the document's error schema.
  const anonymous = await client.GET('/api/hello/')
  t.equal(anonymous.response.status, 401)
  t.equal(anonymous.data, undefined)
  const unauthenticated: TokenError | undefined = anonymous.error
  t.same(unauthenticated, { detail: 'Authentication credentials were not provided.' })
  t.equal(anonymous.response.headers.get('www-authenticate'), 'Bearer realm="api"')

  // Refresh: a new access token (no rotation by default, so no refresh token).
  const refreshed = await client.POST('/api/token/refresh/', { body: { refresh: pair.refresh } })
  t.equal(refreshed.response.status, 200)
  const tokens: RefreshedTokens | undefined = refreshed.data
  t.type(tokens?.access, 'string')
  t.equal(tokens?.refresh, undefined)
  const again = await client.GET('/api/hello/', { headers: bearer(tokens?.access ?? '') })
  t.same(again.data, { msg: 'Hello Peter Parker' })

  // Verify any token: an empty object for a good one, simplejwt's 401 for a bad one.
  const verified = await client.POST('/api/token/verify/', { body: { token: pair.access } })
  t.equal(verified.response.status, 200)
  t.same(verified.data, {})
  const nonsense = await client.POST('/api/token/verify/', { body: { token: 'nonsense' } })
  t.equal(nonsense.response.status, 401)
  t.same(nonsense.error, { detail: 'Token is invalid or expired', code: 'token_not_valid' })

  // Blacklist (log out): the refresh token then refreshes nothing.
  const blacklisted = await client.POST('/api/token/blacklist/', { body: { refresh: pair.refresh } })
  t.equal(blacklisted.response.status, 200)
  t.same(blacklisted.data, {})
  const refused = await client.POST('/api/token/refresh/', { body: { refresh: pair.refresh } })
  t.equal(refused.response.status, 401)
  // `error` is the union of every error body the operation documents (400, 401, 413, 415, 503).
  t.same(refused.error, { detail: 'Token is blacklisted', code: 'token_not_valid' })
})

t.test('errors come back typed as the document declares them', async t => {
  const wrong = await client.POST('/api/token/', { body: { username: 'spiderman', password: 'wrong' } })
  t.equal(wrong.response.status, 401)
  t.equal(wrong.error?.detail, 'No active account found with the given credentials')

  const blank = await client.POST('/api/token/', { body: { username: 'spiderman', password: ' ' } })
  t.equal(blank.response.status, 400)
  t.same(blank.error, { password: ['This field may not be blank.'] })

  // Log out everywhere: the access token that asked is refused afterwards.
  const { data } = await client.POST('/api/token/', { body: { username: 'spiderman', password: 'underoos' } })
  if (data === undefined) throw new Error('obtain failed')
  // Tokens issued in the same second as the revocation stay valid (one-second resolution, like iat).
  clock.tick(1)
  const revoked = await client.POST('/api/token/revoke-all/', { headers: bearer(data.access) })
  t.equal(revoked.response.status, 200)
  t.same(revoked.data, {})
  const after = await client.GET('/api/hello/', { headers: bearer(data.access) })
  t.equal(after.response.status, 401)
  t.equal(after.error !== undefined && 'code' in after.error ? after.error.code : undefined, 'token_not_valid')
})

t.test('the client is typed: wrong paths and bodies do not compile', async t => {
  // Never sent: these lines exist for `npm run typecheck`, which fails if an error below goes away.
  const typeErrors = async () => {
    // @ts-expect-error not a path of the document
    await client.GET('/api/nope/')
    // @ts-expect-error the password is required
    await client.POST('/api/token/', { body: { username: 'spiderman' } })
    // @ts-expect-error refresh is a string
    await client.POST('/api/token/refresh/', { body: { refresh: 1 } })
    const { data } = await client.GET('/api/hello/')
    // @ts-expect-error hello answers `msg`, nothing else
    t.notOk(data?.greeting)
  }
  t.type(typeErrors, 'function')
})
