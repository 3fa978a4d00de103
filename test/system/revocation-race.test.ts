// Issue 15, findings 1 and 2: nothing minted before a revocation is accepted after it. A thief refreshes
// a stolen token in a loop (rotating, or sliding) while the owner logs out everywhere, an admin sets a
// new password, or deactivates and reactivates the user; logins with the old password race a password
// change. Two instances share one database (on PostgreSQL each with its own pool, as two processes
// would have). Every token the thief or the stale logins obtained is then presented: none may work.
//
// The clock moves one second at every reading, shared by both instances: each mint and each
// revocation has a second of its own, so what keeps a token out is the serialisation of minting
// against revocation, not two events falling into one second.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { openDatabase } from '../../src/db/client.js'
import type { Config } from '../../src/domain/settings.js'
import { bearer, build, Clock, createUser, testDatabase } from '../helper.js'

const ROUNDS = 6
const THEFT_STEPS = 30
const STALE_LOGINS = 6

/** A clock that moves on by a second each time it is read. */
class TickingClock extends Clock {
  override now = (): number => (this.ms += 1000)
}
const clock = new TickingClock()
const settings: Partial<Config> = {
  ROTATE_REFRESH_TOKENS: true,
  BLACKLIST_AFTER_ROTATION: true,
  AUTH_TOKEN_CLASSES: ['access', 'sliding'],
  // Hundreds of readings of the clock per round: no token may expire on the way.
  ACCESS_TOKEN_LIFETIME: 86_400,
  SLIDING_TOKEN_LIFETIME: 86_400
}

const database = await testDatabase(t)
const second = database.url === undefined ? database : await openDatabase(database.url, { dataDir: '' })
if (second !== database) t.teardown(() => second.close())
// `owner` revokes; `other` is the instance the thief also uses. Access tokens are checked on `owner`,
// whose user cache forgets the user the moment it revokes (another instance hears of it by
// LISTEN/NOTIFY, a moment later: docs/security.md); refresh tokens on both, where the mint's
// transaction reads the user as committed.
const owner = await build(t, settings, { database, clock })
const other = await build(t, settings, { database: second, clock })
const apps = [owner, other]
// Without rotation: a refresh mints an access token and records nothing (a locking read settles the race).
const plain = await build(t, { ...settings, ROTATE_REFRESH_TOKENS: false, BLACKLIST_AFTER_ROTATION: false }, { database: second, clock })

let users = 0
async function newUser (): Promise<{ id: number, username: string, password: string }> {
  const username = `racer-${++users}`
  const password = 'underoos-and-web-shooters'
  const user = await createUser(owner, { username, password })
  return { id: user.id, username, password }
}

const post = (app: FastifyInstance, url: string, payload: Record<string, string>) => app.inject({ method: 'POST', url, payload })

async function obtain (app: FastifyInstance, url: string, username: string, password: string): Promise<Record<string, string> | undefined> {
  const res = await post(app, url, { username, password })
  return res.statusCode === 200 ? res.json() : undefined
}

interface Loot { access: string[], refresh: string[], sliding: string[] }

type Kind = 'refresh' | 'plain' | 'sliding'

/**
 * Refreshes the newest token again and again (alternating instances; `plain`: the same refresh token,
 * on an instance without rotation), until refused; keeps everything minted.
 */
async function thief (first: string, kind: Kind, loot: Loot): Promise<void> {
  let current = first
  for (let step = 0; step < THEFT_STEPS; step++) {
    const app = kind === 'plain' ? plain : apps[step % 2]
    if (kind === 'plain') {
      const res = await post(app, '/api/token/refresh/', { refresh: current })
      if (res.statusCode !== 200) return
      loot.access.push(res.json().access)
      continue
    }
    const res = kind === 'refresh'
      ? await post(app, '/api/token/refresh/', { refresh: current })
      : await post(app, '/api/token/sliding/refresh/', { token: current })
    if (res.statusCode !== 200) return
    const body = res.json()
    if (kind === 'refresh') {
      loot.access.push(body.access)
      loot.refresh.push(current = body.refresh)
    } else {
      loot.sliding.push(current = body.token)
    }
  }
}

/** Lets the thief get `steps` requests ahead, then revokes. */
async function after (steps: number, revoke: () => Promise<unknown>, ready: () => boolean = () => true): Promise<void> {
  for (let i = 0; i < steps; i++) await new Promise(resolve => setImmediate(resolve))
  // Bounded: at most a few thousand turns of the event loop for the thief to get its first tokens.
  for (let i = 0; i < 5000 && !ready(); i++) await new Promise(resolve => setImmediate(resolve))
  await revoke()
}

/** Every token in the loot that still works, after the revocation. */
async function survivors (loot: Loot): Promise<string[]> {
  const alive: string[] = []
  for (const access of loot.access) {
    if ((await owner.inject({ method: 'GET', url: '/api/hello/', headers: bearer(access) })).statusCode === 200) alive.push(`access ${access.slice(-8)}`)
  }
  for (const refresh of loot.refresh) {
    for (const app of apps) {
      if ((await post(app, '/api/token/refresh/', { refresh })).statusCode === 200) alive.push(`refresh ${refresh.slice(-8)}`)
    }
  }
  for (const sliding of loot.sliding) {
    if ((await owner.inject({ method: 'GET', url: '/api/hello/', headers: bearer(sliding) })).statusCode === 200) alive.push(`sliding ${sliding.slice(-8)}`)
    for (const app of apps) {
      if ((await post(app, '/api/token/sliding/refresh/', { token: sliding })).statusCode === 200) alive.push(`sliding refresh ${sliding.slice(-8)}`)
    }
  }
  return alive
}

const REVOCATIONS: Record<string, (app: FastifyInstance, user: { id: number }, access: string) => Promise<unknown>> = {
  'log out everywhere': (app, _user, access) => app.inject({ method: 'POST', url: '/api/token/revoke-all/', headers: bearer(access) }),
  'a new password': (app, user) => app.simplejwt.accounts.setPassword(user.id, 'with great power comes'),
  'deactivation, then reactivation': async (app, user) => {
    await app.simplejwt.accounts.update(user.id, { isActive: false })
    await app.simplejwt.accounts.update(user.id, { isActive: true })
  }
}

for (const [name, revoke] of Object.entries(REVOCATIONS)) {
  for (const kind of ['refresh', 'plain', 'sliding'] as const) {
    const what = { refresh: 'rotating refresh', plain: 'refresh (no rotation)', sliding: 'sliding' }[kind]
    t.test(`a ${what} token stolen and refreshed in a loop does not survive ${name}`, async t => {
      let minted = 0
      for (let round = 0; round < ROUNDS; round++) {
        const user = await newUser()
        const pair = await obtain(owner, '/api/token/', user.username, user.password)
        const stolen = kind === 'sliding' ? (await obtain(owner, '/api/token/sliding/', user.username, user.password))?.token : pair?.refresh
        t.ok(pair !== undefined && stolen !== undefined, 'logged in')
        const loot: Loot = { access: [], refresh: [], sliding: [] }
        // The revocation lands at a different point of the thief's loop each round.
        // Odd rounds let the thief get a token first; even rounds revoke at once or mid-request.
        const looted = () => round % 2 === 0 || loot.access.length + loot.refresh.length + loot.sliding.length > 0
        await Promise.all([thief(stolen as string, kind, loot), after(round * 3, () => revoke(owner, user, pair?.access as string), looted)])
        minted += loot.access.length + loot.refresh.length + loot.sliding.length
        if (kind === 'plain') loot.refresh.push(stolen as string)
        t.same(await survivors(loot), [], `round ${round + 1}: no token minted before the revocation works after it`)
        // The owner can log in again afterwards (with the new password where there is one).
        const password = name === 'a new password' ? 'with great power comes' : user.password
        t.ok(await obtain(owner, '/api/token/', user.username, password), `round ${round + 1}: a new login works`)
      }
      t.ok(minted > 0, `the thief did get tokens before the revocations (${minted})`)
    })
  }
}

t.test('logins with the old password in flight during a password change get nothing that works after it', async t => {
  for (let round = 0; round < ROUNDS; round++) {
    const user = await newUser()
    const logins = Array.from({ length: STALE_LOGINS }, (_, i) => obtain(apps[i % 2], '/api/token/', user.username, user.password))
    const [pairs] = await Promise.all([
      Promise.all(logins),
      after(round, () => owner.simplejwt.accounts.setPassword(user.id, 'with great power comes'))
    ])
    const loot: Loot = { access: [], refresh: [], sliding: [] }
    for (const pair of pairs) {
      if (pair === undefined) continue
      loot.access.push(pair.access)
      loot.refresh.push(pair.refresh)
    }
    t.same(await survivors(loot), [], `round ${round + 1}: ${loot.access.length} logins with the old password, none works after the change`)
    t.equal(await obtain(owner, '/api/token/', user.username, user.password), undefined, 'the old password is refused')
    t.ok(await obtain(owner, '/api/token/', user.username, 'with great power comes'), 'the new one works')
  }
})
