// Spec D8: of N concurrent refreshes of one token, through two instances sharing one database, exactly one wins.
import t from 'tap'
import type { AddressInfo } from 'node:net'
import { openDatabase } from '../../src/db/client.js'
import { build, createUser, testDatabase } from '../helper.js'

const settings = { ROTATE_REFRESH_TOKENS: true, BLACKLIST_AFTER_ROTATION: true }
const database = await testDatabase(t)
// On PostgreSQL each instance gets its own connection pool, as separate processes would;
// PGlite is one process's database, so the instances share its handle.
const second = database.url === undefined ? database : await openDatabase(database.url, { dataDir: '' })
if (second !== database) t.teardown(() => second.close())

const instances = [await build(t, settings, { database }), await build(t, settings, { database: second })]
const origins: string[] = []
for (const instance of instances) {
  await instance.listen({ host: '127.0.0.1', port: 0 })
  origins.push(`http://127.0.0.1:${(instance.server.address() as AddressInfo).port}`)
}
await createUser(instances[0])

const post = async (origin: string, path: string, body: unknown) => {
  const res = await fetch(`${origin}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: res.status, body: await res.json() as Record<string, unknown> }
}

const ROUNDS = 5
const PARALLEL = 10
for (let round = 1; round <= ROUNDS; round++) {
  t.test(`POST /api/token/refresh/: round ${round}, ${PARALLEL} parallel refreshes over two instances, one winner`, async t => {
    const login = await post(origins[round % 2], '/api/token/', { username: 'spiderman', password: 'underoos' })
    t.equal(login.status, 200)
    const answers = await Promise.all(Array.from({ length: PARALLEL }, (_, i) =>
      post(origins[i % 2], '/api/token/refresh/', { refresh: login.body.refresh })))
    const winners = answers.filter(a => a.status === 200)
    t.equal(winners.length, 1, 'exactly one refresh succeeds')
    t.ok(winners[0]?.body.access !== undefined && winners[0]?.body.refresh !== undefined)
    for (const loser of answers.filter(a => a.status !== 200)) {
      t.equal(loser.status, 401)
      t.same(loser.body, { detail: 'Token is blacklisted', code: 'token_not_valid' })
    }
  })
}
