// The account rules, without an app or a database: one place decides that a new password and a
// deactivation revoke every token, for the CLI and the admin API alike.
import t from 'tap'
import { createAccounts } from '../../src/domain/accounts.js'
import { verifyPassword } from '../../src/domain/passwords.js'
import { FakeTokenStore, FakeUserStore } from '../helpers/fakes.js'

function setUp () {
  const users = new FakeUserStore()
  const tokens = new FakeTokenStore(users)
  let ms = Date.UTC(2026, 10, 29, 21, 41, 30)
  const accounts = createAccounts({ users, tokens, now: () => ms })
  return { users, tokens, accounts, tick: (seconds: number) => { ms += seconds * 1000 }, now: () => ms }
}

t.test('create hashes the password (argon2id) and dates the user by the clock', async t => {
  const { accounts, users, now } = setUp()
  const user = await accounts.create({ username: 'spiderman', password: 'underoos', firstName: 'Peter', lastName: 'Parker' })
  t.match(user, { username: 'spiderman', firstName: 'Peter', lastName: 'Parker', isActive: true, isStaff: false })
  t.notOk('password' in user, 'the hash is not returned')
  const stored = (await users.findById(user.id))?.password ?? ''
  t.not(stored, 'underoos', 'never stored as given')
  t.match(stored, /^argon2\$argon2id\$/)
  t.ok(await verifyPassword(stored, 'underoos'))
  t.equal(user.dateJoined.getTime(), now())
})

t.test('setPassword replaces the hash and revokes every token, at the clock\'s time', async t => {
  const { accounts, tokens, now } = setUp()
  const user = await accounts.create({ username: 'spiderman', password: 'underoos' })
  const updated = await accounts.setPassword(user.id, 'with great power')
  t.ok(updated !== undefined && await verifyPassword(updated.password, 'with great power'))
  t.same(tokens.revocations, [{ userId: user.id, cutoff: new Date(now()) }])
  t.equal(await accounts.setPassword(999, 'x'), undefined, 'nobody: nothing revoked')
  t.equal(tokens.revocations.length, 1)
})

t.test('update: deactivating revokes every token, whoever asks; other changes revoke nothing', async t => {
  const { accounts, tokens, tick } = setUp()
  const user = await accounts.create({ username: 'spiderman', password: 'underoos' })
  await accounts.update(user.id, { firstName: 'Miles', isStaff: true })
  t.equal(tokens.revocations.length, 0, 'names and flags alone revoke nothing')
  await accounts.update(user.id, { isActive: false })
  t.equal(tokens.revocations.length, 1, 'deactivation revokes')
  tick(1)
  const again = await accounts.update(user.id, { isActive: true })
  t.equal(again?.isActive, true)
  t.equal(tokens.revocations.length, 1, 'reactivation brings no old token back, and revokes nothing new')
  t.equal(await accounts.update(999, { isActive: false }), undefined)
  t.equal(tokens.revocations.length, 1, 'an unknown user: nothing revoked')
})

t.test('revokeAll cuts off at the clock\'s time', async t => {
  const { accounts, users, now } = setUp()
  const user = await accounts.create({ username: 'spiderman', password: 'underoos' })
  await accounts.revokeAll(user.id)
  t.same((await users.findById(user.id))?.tokensValidAfter, new Date(now()))
})
