// Who gets in where (issue 15): every route × every kind of caller, with the status each must get,
// from one table. One row per route; one column per caller:
//
//   anonymous  no credentials at all: no Authorization header, an empty body
//   user       an active user who is neither staff nor superuser
//   inactive   a user deactivated (is_active false, nothing revoked) after obtaining its tokens
//   staff      an active staff user who is not a superuser
//   superuser  an active superuser (and staff)
//   revoked    a staff user whose tokens were all revoked (log out everywhere) after they were obtained
//   stateless  that same revoked staff user's tokens, presented to the service with AUTH_STATELESS=true
//
// Each caller presents what the route takes: its access token as a Bearer header, its refresh, access
// or sliding token in the body, or its username and password. The rows that use a token up (blacklist,
// revoke-all) come last, so that every other row sees the caller's tokens as they were issued.
import t from 'tap'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { bearer, build, Clock, createUser, obtainPair, testDatabase } from '../helper.js'

const ACTORS = ['anonymous', 'user', 'inactive', 'staff', 'superuser', 'revoked', 'stateless'] as const
type Actor = typeof ACTORS[number]

/** What a caller holds. */
interface Credentials { username: string, password: string, access: string, refresh: string, sliding: string }

/** What a row sends: a Bearer header, a token in the body, the credentials, or nothing of the caller's. */
type Presents = 'bearer' | 'refresh' | 'access' | 'sliding' | 'password' | 'nothing'

interface Row {
  method: 'GET' | 'POST' | 'PATCH'
  url: string
  presents: Presents
  /** The body besides what the caller presents, made anew for each request. */
  body?: () => Record<string, unknown>
  /** The status for each caller, in ACTORS' order. */
  expected: readonly [number, number, number, number, number, number, number]
}

// Users, by id in creation order: the callers, then the targets of the admin routes.
const TARGET = 6
const SUPER_TARGET = 7
let made = 0
/** A new user's username and password, a new name each time. */
const created = () => ({ username: `made-${++made}`, password: 'a new password' })

const row = (method: Row['method'], url: string, presents: Presents, expected: Row['expected'], body?: Row['body']): Row => ({ method, url, presents, expected, body })
/** A row whose body is the same for every caller. */
const sends = (body: Record<string, unknown>) => () => body

/* eslint-disable @stylistic/no-multi-spaces */
const TABLE: Row[] = [
  //                                                                  anon user inact staff super revok stless
  row('POST', '/api/token/',                         'password',     [400, 200, 401, 200, 200, 200, 200]),
  row('POST', '/api/token/refresh/',                 'refresh',      [400, 200, 401, 200, 200, 401, 401]),
  row('POST', '/api/token/verify/',                  'access',       [400, 200, 401, 200, 200, 401, 401]),
  row('POST', '/api/token/sliding/',                 'password',     [400, 200, 401, 200, 200, 200, 200]),
  row('POST', '/api/token/sliding/refresh/',         'sliding',      [400, 200, 401, 200, 200, 401, 401]),
  row('GET', '/api/hello/',                          'bearer',       [401, 200, 401, 200, 200, 401, 200]),
  row('GET', '/api/admin/users/',                    'bearer',       [401, 403, 401, 200, 200, 401, 401]),
  row('POST', '/api/admin/users/',                   'bearer',       [401, 403, 401, 201, 201, 401, 401], created),
  row('POST', '/api/admin/users/',                   'bearer',       [401, 403, 401, 403, 201, 401, 401], () => ({ ...created(), is_superuser: true })),
  row('GET', `/api/admin/users/${TARGET}/`,          'bearer',       [401, 403, 401, 200, 200, 401, 401]),
  row('GET', `/api/admin/users/${SUPER_TARGET}/`,    'bearer',       [401, 403, 401, 200, 200, 401, 401]),
  row('PATCH', `/api/admin/users/${TARGET}/`,        'bearer',       [401, 403, 401, 200, 200, 401, 401], sends({ first_name: 'Miles' })),
  row('PATCH', `/api/admin/users/${TARGET}/`,        'bearer',       [401, 403, 401, 403, 200, 401, 401], sends({ is_staff: true })),
  row('PATCH', `/api/admin/users/${SUPER_TARGET}/`,  'bearer',       [401, 403, 401, 403, 200, 401, 401], sends({ first_name: 'Carol' })),
  row('POST', `/api/admin/users/${TARGET}/set-password/`,       'bearer', [401, 403, 401, 200, 200, 401, 401], sends({ password: 'with great power' })),
  row('POST', `/api/admin/users/${SUPER_TARGET}/set-password/`, 'bearer', [401, 403, 401, 403, 200, 401, 401], sends({ password: 'higher further' })),
  row('POST', `/api/admin/users/${TARGET}/revoke-all/`,         'bearer', [401, 403, 401, 200, 200, 401, 401]),
  row('POST', `/api/admin/users/${SUPER_TARGET}/revoke-all/`,   'bearer', [401, 403, 401, 403, 200, 401, 401]),
  row('POST', `/api/admin/users/${TARGET}/deactivate/`,         'bearer', [401, 403, 401, 200, 200, 401, 401]),
  row('POST', `/api/admin/users/${SUPER_TARGET}/deactivate/`,   'bearer', [401, 403, 401, 403, 200, 401, 401]),
  row('GET', '/.well-known/jwks.json',               'nothing',      [200, 200, 200, 200, 200, 200, 200]),
  row('GET', '/health/live',                         'nothing',      [200, 200, 200, 200, 200, 200, 200]),
  row('GET', '/health/ready',                        'nothing',      [200, 200, 200, 200, 200, 200, 200]),
  // These use the caller's tokens up: last.
  row('POST', '/api/token/blacklist/',               'refresh',      [400, 200, 200, 200, 200, 401, 401]),
  row('POST', '/api/token/sliding/blacklist/',       'sliding',      [400, 200, 200, 200, 200, 401, 401]),
  row('POST', '/api/token/revoke-all/',              'bearer',       [401, 200, 401, 200, 200, 401, 200])
]
/* eslint-enable @stylistic/no-multi-spaces */

// One database, two services on it: as deployed, and stateless. Real time, moved on by hand, so
// that revocation cut-offs and logins fall in distinct seconds.
const clock = new Clock(Date.now())
const database = await testDatabase(t)
const app = await build(t, {}, { clock, database })
const statelessApp = await build(t, { AUTH_STATELESS: true }, { clock, database })

// The users (argon2 is slow: each is created, and logs in, once).
const SPECS: Array<[Exclude<Actor, 'anonymous' | 'stateless'>, { isStaff?: boolean, isSuperuser?: boolean }]> = [
  ['user', {}], ['inactive', {}], ['staff', { isStaff: true }], ['superuser', { isStaff: true, isSuperuser: true }], ['revoked', { isStaff: true }]
]
const holds = new Map<Actor, Credentials>()
for (const [actor, flags] of SPECS) {
  const password = `${actor}-password`
  await createUser(app, { username: actor, password, ...flags })
  const pair = await obtainPair(app, actor, password)
  const sliding = await app.inject({ method: 'POST', url: '/api/token/sliding/', payload: { username: actor, password } })
  holds.set(actor, { username: actor, password, ...pair, sliding: sliding.json().token })
}
holds.set('stateless', holds.get('revoked') as Credentials)
const targets = [(await createUser(app, { username: 'target' })).id, (await createUser(app, { username: 'super-target', isStaff: true, isSuperuser: true })).id]
if (targets.join() !== [TARGET, SUPER_TARGET].join()) throw new Error(`the targets are users ${targets.join()}, not ${TARGET} and ${SUPER_TARGET}`)

clock.tick(1)
await app.simplejwt.users.update('inactive', { isActive: false })
await app.simplejwt.accounts.revokeAll((await app.simplejwt.users.findByUsername('revoked'))?.id as number)
// A login after a revocation lands in a later second than the cut-off.
clock.tick(1)

/** The request a caller makes on a row. */
function requestOf (row: Row, actor: Actor): InjectOptions {
  const held = holds.get(actor)
  const body = row.body?.() ?? {}
  const own: Record<Presents, Record<string, unknown>> = {
    bearer: {},
    nothing: {},
    password: held === undefined ? {} : { username: held.username, password: held.password },
    refresh: held === undefined ? {} : { refresh: held.refresh },
    access: held === undefined ? {} : { token: held.access },
    sliding: held === undefined ? {} : { token: held.sliding }
  }
  const headers = row.presents === 'bearer' && held !== undefined ? bearer(held.access) : {}
  const payload = { ...own[row.presents], ...body }
  return { method: row.method, url: row.url, headers, ...(row.method === 'GET' ? {} : { payload }) }
}

const serverOf = (actor: Actor): FastifyInstance => actor === 'stateless' ? statelessApp : app

for (const entry of TABLE) {
  const flags = entry.body === undefined ? [] : Object.entries(entry.body()).filter(([key]) => key.startsWith('is_') || key.endsWith('_name'))
  t.test(`${entry.method} ${entry.url}${flags.length === 0 ? '' : ` ${JSON.stringify(Object.fromEntries(flags))}`}`, async t => {
    const expected: Partial<Record<Actor, number>> = {}
    const actual: Partial<Record<Actor, number>> = {}
    for (const [i, actor] of ACTORS.entries()) {
      expected[actor] = entry.expected[i]
      actual[actor] = (await serverOf(actor).inject(requestOf(entry, actor))).statusCode
    }
    t.same(actual, expected)
  })
}

t.test('the table covers every route the service serves', async t => {
  const served = new Set<string>()
  const doc = app.swagger() as unknown as { paths: Record<string, Record<string, unknown>> }
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const method of Object.keys(operations)) served.add(`${method.toUpperCase()} ${path}`)
  }
  t.ok(served.has('GET /api/hello/') && served.has('POST /api/admin/users/{id}/deactivate/'), 'the OpenAPI document lists the routes')
  const covered = new Set(TABLE.map(entry => `${entry.method} ${entry.url.replace(/\/\d+\//, '/{id}/')}`))
  t.same([...served].filter(route => !covered.has(route)).sort(), [], 'no route is missing from the table')
})
