// Issue 15, finding 8: RFC 6749 §5.1 requires `Cache-Control: no-store` (and `Pragma: no-cache`) on
// every answer that carries a token. Every answer of the token routes says so, errors included, in
// the standalone server and in library mode.
import t from 'tap'
import Fastify from 'fastify'
import { bearer, build, createUser, TEST_KEY, testDatabase } from '../helper.js'
import simplejwt from '../../src/plugin.js'

const database = await testDatabase(t)
const app = await build(t, { AUTH_TOKEN_CLASSES: ['access', 'sliding'], ROTATE_REFRESH_TOKENS: true }, { database })
await createUser(app)

const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, payload: payload as Record<string, unknown>, headers })
const credentials = { username: 'spiderman', password: 'underoos' }

t.test('every answer of the token routes carries Cache-Control: no-store and Pragma: no-cache', async t => {
  const pair = (await post('/api/token/', credentials)).json()
  const sliding = (await post('/api/token/sliding/', credentials)).json()
  const answers: Array<[string, Awaited<ReturnType<typeof post>>, number]> = [
    ['obtain', await post('/api/token/', credentials), 200],
    ['obtain, wrong password', await post('/api/token/', { ...credentials, password: 'wrong' }), 401],
    ['obtain, no body', await post('/api/token/', {}), 400],
    ['obtain, no slash', await post('/api/token', credentials), 200],
    ['refresh', await post('/api/token/refresh/', { refresh: pair.refresh }), 200],
    ['refresh, bad token', await post('/api/token/refresh/', { refresh: 'not-a-token' }), 401],
    ['verify', await post('/api/token/verify/', { token: pair.access }), 200],
    ['sliding obtain', await post('/api/token/sliding/', credentials), 200],
    ['sliding refresh', await post('/api/token/sliding/refresh/', { token: sliding.token }), 200],
    ['sliding refresh, bad token', await post('/api/token/sliding/refresh/', { token: 'x' }), 401],
    ['revoke-all, anonymous', await post('/api/token/revoke-all/', {}), 401],
    ['blacklist', await post('/api/token/blacklist/', { refresh: (await post('/api/token/', credentials)).json().refresh }), 200],
    ['revoke-all', await post('/api/token/revoke-all/', {}, bearer((await post('/api/token/', credentials)).json().access)), 200]
  ]
  for (const [what, res, status] of answers) {
    t.equal(res.statusCode, status, `${what}: ${res.statusCode}`)
    t.equal(res.headers['cache-control'], 'no-store', `${what}: Cache-Control`)
    t.equal(res.headers.pragma, 'no-cache', `${what}: Pragma`)
    t.equal(res.headers['x-frame-options'], 'DENY', `${what}: the security headers still`)
  }
})

t.test('other routes are left to HTTP caching as before', async t => {
  const jwks = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  t.equal(jwks.headers['cache-control'], 'public, max-age=300', 'the key set may be cached')
  t.equal(jwks.headers.pragma, undefined)
})

t.test('library mode: the token routes under the application\'s prefix say no-store, its own routes do not', async t => {
  const server = Fastify()
  t.teardown(() => server.close())
  await server.register(simplejwt, { prefix: '/auth', database, JWT_SIGNING_KEY: TEST_KEY, admin: false, jwksPath: false, LOGIN_THROTTLE_USERNAME: null, LOGIN_THROTTLE_IP: null })
  server.get('/mine', async () => ({ ok: true }))
  const login = await server.inject({ method: 'POST', url: '/auth/token/', payload: credentials })
  t.equal(login.statusCode, 200)
  t.equal(login.headers['cache-control'], 'no-store')
  t.equal(login.headers.pragma, 'no-cache')
  const mine = await server.inject({ method: 'GET', url: '/mine' })
  t.equal(mine.headers['cache-control'], undefined, 'the application\'s own answers are its own business')
})
