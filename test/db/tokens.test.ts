import t from 'tap'
import { createBlacklistRepository } from '../../src/db/tokens.js'
import { build, createUser, resetDb } from '../helper.js'
import { activeFor } from '../helpers/db.js'

const app = await build(t)
t.beforeEach(() => resetDb(app))
const repo = createBlacklistRepository(app.simplejwt.db)
const at = (seconds: number) => new Date(Date.UTC(2026, 10, 29) + seconds * 1000)

t.test('flushExpired deletes expired rows of all three tables in batches, and nothing else', async t => {
  const user = await createUser(app)
  for (let i = 0; i < 7; i++) {
    const expired = i < 5
    const expiresAt = at(expired ? -60 : 3600)
    await repo.outstand({ jti: `t${i}`, userId: user.id, family: 'f', createdAt: at(-100), expiresAt })
    await repo.add(`t${i}`, 'logout', expiresAt, at(-50))
  }
  await repo.revokeFamily('old', user.id, at(-10), at(-1))
  await repo.revokeFamily('live', user.id, at(-10), at(60))

  const gone = await repo.flushExpired(at(0), 2)
  t.same(gone, { blacklisted: 5, outstanding: 5, families: 1 })
  t.same((await repo.status('t5')).blacklisted?.jti, 't5')
  t.equal((await repo.status('t0')).blacklisted, undefined)
  t.same(await repo.flushExpired(at(0), 2), { blacklisted: 0, outstanding: 0, families: 0 }, 'a second run finds nothing')
})

t.test('add is idempotent and reports who did it first', async t => {
  t.equal(await repo.add('j', 'logout', at(60), at(0), { ip: '127.0.0.1', userAgent: 'x'.repeat(600) }), true)
  t.equal(await repo.add('j', 'logout', at(60), at(0)), false)
  const row = (await repo.status('j')).blacklisted
  t.equal(row?.ip, '127.0.0.1')
  t.equal(row?.userAgent?.length, 512, 'a long user agent is clipped, not refused')
})

t.test('a rotation (issue with `rotated`) lets exactly one of concurrent callers win, and records only the winner\'s successor', async t => {
  const user = await createUser(app)
  await repo.outstand({ jti: 'root', userId: user.id, family: 'root', createdAt: at(0), expiresAt: at(60) })
  const outcomes = await Promise.all(Array.from({ length: 8 }, (_, i) => repo.issue(user.id, () => ({
    value: i,
    outstand: { jti: `child${i}`, userId: user.id, family: 'root', parentJti: 'root', createdAt: at(1), expiresAt: at(61) },
    rotated: { jti: 'root', expiresAt: at(60), presenter: {} }
  }))))
  const results = outcomes.map(outcome => !outcome.lost)
  t.equal(results.filter(Boolean).length, 1)
  const children = (await activeFor(app.simplejwt.db, user.id)).filter(jti => jti.startsWith('child'))
  t.equal(children.length, 1)
  t.equal(children[0], `child${results.indexOf(true)}`)
})

t.test('revokeFamily blacklists every member once and marks the family', async t => {
  const user = await createUser(app)
  for (const jti of ['a', 'b', 'c']) await repo.outstand({ jti, userId: user.id, family: 'fam', createdAt: at(0), expiresAt: at(60) })
  await repo.outstand({ jti: 'z', userId: user.id, family: 'other', createdAt: at(0), expiresAt: at(60) })
  await repo.add('b', 'rotated', at(60), at(1))
  t.equal(await repo.revokeFamily('fam', user.id, at(2), at(100)), true)
  t.equal(await repo.revokeFamily('fam', user.id, at(3), at(100)), false, 'already revoked')
  t.same(await activeFor(app.simplejwt.db, user.id), ['z'])
  t.equal((await repo.status('b')).blacklisted?.reason, 'rotated', 'an existing row keeps its reason')
  t.equal((await repo.status('a')).blacklisted?.reason, 'reuse')
  t.equal((await repo.status('a')).familyRevoked, true)
  t.equal((await repo.status('z')).familyRevoked, false)
})

t.test('revokeAll sets the cut-off and blacklists only unexpired tokens of that user', async t => {
  const peter = await createUser(app)
  const mj = await createUser(app, { username: 'mj' })
  await repo.outstand({ jti: 'p1', userId: peter.id, family: 'p1', createdAt: at(0), expiresAt: at(60) })
  await repo.outstand({ jti: 'p0', userId: peter.id, family: 'p0', createdAt: at(-200), expiresAt: at(-100) })
  await repo.outstand({ jti: 'm1', userId: mj.id, family: 'm1', createdAt: at(0), expiresAt: at(60) })
  await repo.revokeAll(peter.id, () => at(10))
  t.equal((await repo.status('p1')).blacklisted?.reason, 'revoke_all')
  t.equal((await repo.status('p0')).blacklisted, undefined, 'expired tokens need no row')
  t.equal((await repo.status('m1')).blacklisted, undefined)
  t.same((await app.simplejwt.users.findById(peter.id))?.tokensValidAfter, at(10))
  t.equal((await app.simplejwt.users.findById(mj.id))?.tokensValidAfter, null)
})
