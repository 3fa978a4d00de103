// Issue 17, item 3: a Django SECRET_KEY shorter than the HMAC minimum is accepted in production for the
// cutover with JWT_ACCEPT_SHORT_SIGNING_KEY=true (and a warning at start telling to rotate), not by
// turning production's checks off; Django's tokens then verify here.
import t from 'tap'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import appPlugin, { serverOptions } from '../../src/app.js'
import type { Config } from '../../src/domain/settings.js'
import { accessClaims, Clock, forge, testConfig, testDatabase, type TestLike } from '../helper.js'

const database = await testDatabase(t)
const DJANGO_KEY = 'django-insecure-key'
const clock = new Clock()

/** The app's start-up warnings, and the app. */
async function start (t: TestLike, overrides: Partial<Config>) {
  const lines: string[] = []
  const config = testConfig({ ...overrides, LOG_LEVEL: 'warn' })
  const server = Fastify({ ...serverOptions(config), logger: { level: 'warn', stream: { write: (line: string) => { lines.push(line) } } } })
  await server.register(fp(appPlugin), { config, database, now: clock.now })
  await server.ready()
  t.teardown(() => server.close())
  return { server, warnings: lines.map(line => (JSON.parse(line) as { msg: string }).msg) }
}

t.test('production with JWT_ACCEPT_SHORT_SIGNING_KEY: the short key works, and the start warns to rotate it', async t => {
  const { server, warnings } = await start(t, { PRODUCTION: true, JWT_ACCEPT_SHORT_SIGNING_KEY: true, JWT_SIGNING_KEY: DJANGO_KEY })
  t.same(warnings.filter(msg => msg.startsWith('JWT_SIGNING_KEY')), [
    'JWT_SIGNING_KEY is shorter than 32 bytes, too weak for HS256; accepted for the cutover from Django (JWT_ACCEPT_SHORT_SIGNING_KEY): rotate to a long key after it, keeping this one in JWT_PREVIOUS_VERIFYING_KEYS until its tokens expire (docs/keys.md)'
  ])
  const token = forge(accessClaims(clock), { key: DJANGO_KEY })
  const res = await server.inject({ method: 'POST', url: '/api/token/verify/', payload: { token } })
  t.equal(res.statusCode, 200, 'a token Django signed with its key verifies')
})

t.test('outside production a short key still gets the plain warning', async t => {
  const { warnings } = await start(t, { JWT_SIGNING_KEY: DJANGO_KEY })
  t.same(warnings.filter(msg => msg.startsWith('JWT_SIGNING_KEY')), ['JWT_SIGNING_KEY is shorter than 32 bytes, too weak for HS256; production refuses it'])
})
