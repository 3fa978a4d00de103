// Usernames are NFKC-normalised as Django's AbstractBaseUser.normalize_username does (issue 15, item 8):
// on create (the account service, for the CLI and the admin API), on import, and on login, so that a
// look-alike (the Kelvin sign, fullwidth letters, a ligature) can neither become a second account nor
// dodge the throttle of the account it imitates.
import t from 'tap'
import { createAccounts } from '../../src/domain/accounts.js'
import { DumpdataError, parseDumpdata, readDumpdata } from '../../src/domain/dumpdata.js'
import { AuthenticationFailed, DuplicateUsername, ValidationError } from '../../src/domain/errors.js'
import { createLoginQueue } from '../../src/domain/login-queue.js'
import { hashPassword } from '../../src/domain/passwords.js'
import type { LoginAttempts } from '../../src/domain/ports.js'
import { authenticateCredentials } from '../../src/domain/serializers.js'
import { normalizeUsername } from '../../src/domain/users.js'
import { FakeTokenStore, FakeUserStore } from '../helpers/fakes.js'

const KELVIN = '\u212Aelvin' // K (KELVIN SIGN) + elvin
const FULLWIDTH = 'ｓｐｉｄｅｒｍａｎ'
const LIGATURE = '\uFB01sh' // ﬁ + sh

t.test('normalizeUsername is Unicode NFKC, as Python\'s unicodedata.normalize(\'NFKC\', …)', async t => {
  t.equal(normalizeUsername(KELVIN), 'Kelvin')
  t.equal(normalizeUsername(FULLWIDTH), 'spiderman')
  t.equal(normalizeUsername(LIGATURE), 'fish')
  t.equal(normalizeUsername('Spider\u00ADman'), 'Spider\u00ADman', 'NFKC keeps a soft hyphen, as Python does')
  t.equal(normalizeUsername('e\u0301'), '\u00E9', 'composed')
  t.equal(normalizeUsername('spiderman'), 'spiderman', 'ASCII unchanged')
  t.equal(normalizeUsername('Spiderman'), 'Spiderman', 'case kept: usernames stay case-sensitive, as in Django')
})

t.test('create stores the normalised name; a look-alike of a taken name is the taken name', async t => {
  const users = new FakeUserStore()
  const accounts = createAccounts({ users, tokens: new FakeTokenStore(users), now: () => 0 })
  const created = await accounts.create({ username: FULLWIDTH, password: 'underoos' })
  t.equal(created.username, 'spiderman')
  t.equal((await users.findByUsername('spiderman'))?.id, created.id)
  await t.rejects(accounts.create({ username: 'spiderman', password: 'underoos' }), DuplicateUsername)
  await t.rejects(accounts.create({ username: 'ｓｐｉｄｅｒｍａｎ', password: 'underoos' }), DuplicateUsername)
  t.equal((await accounts.create({ username: KELVIN, password: 'underoos' })).username, 'Kelvin')
  await t.rejects(accounts.create({ username: 'Kelvin', password: 'underoos' }), DuplicateUsername, 'the Kelvin sign is K')
  t.equal((await accounts.create({ username: LIGATURE, password: 'underoos' })).username, 'fish')
  t.equal(users.rows.size, 3)
  // NFKC may lengthen a name: ㎏ (one character) is "kg".
  await t.rejects(accounts.create({ username: '\u338F'.repeat(76), password: 'underoos' }),
    new ValidationError({ username: ['Ensure this field has no more than 150 characters.'] }))
})

t.test('login normalises the name: ｓｐｉｄｅｒｍａｎ logs in as spiderman, and shares its throttle counter', async t => {
  const users = Object.assign(new FakeUserStore(), { rehashPassword: async () => true })
  const spiderman = await users.create({ username: 'spiderman', password: await hashPassword('underoos') })
  const checked: string[] = []
  const succeeded: string[] = []
  const throttle: LoginAttempts = {
    async consume (username) { checked.push(username) },
    async refund () {},
    async succeeded (username) { succeeded.push(username) }
  }
  const log = { warn () {}, child () { return log } }
  const login = (username: string, password: string) => authenticateCredentials(
    { users, loginThrottle: throttle, loginQueue: createLoginQueue({ size: 4, perClient: 2 }) },
    { username, password, ip: '192.0.2.1', log })
  t.equal((await login(FULLWIDTH, 'underoos')).id, spiderman.id)
  await t.rejects(login('ｓｐｉｄｅｒｍａn', 'wrong'), AuthenticationFailed)
  t.same(checked, ['spiderman', 'spiderman'], 'throttled (and the failure counted) under the normalised name')
  t.same(succeeded, ['spiderman'], 'the success clears spiderman\'s count')
})

t.test('import: names are normalised, and look-alikes in one dump are refused clearly', async t => {
  const record = (pk: number, username: string) => ({ model: 'auth.user', pk, fields: { username, password: '!' } })
  const { users, renamed } = readDumpdata(JSON.stringify([record(1, FULLWIDTH), record(2, 'peter'), record(3, KELVIN)]))
  t.same(users.map(user => user.username), ['spiderman', 'peter', 'Kelvin'])
  t.same(renamed, [{ id: 1, from: FULLWIDTH, to: 'spiderman' }, { id: 3, from: KELVIN, to: 'Kelvin' }])
  t.same(parseDumpdata(JSON.stringify([record(1, LIGATURE)])).map(user => user.username), ['fish'])

  t.throws(() => parseDumpdata(JSON.stringify([record(1, 'spiderman'), record(2, FULLWIDTH)])), new DumpdataError(
    'username "ｓｐｉｄｅｒｍａｎ" is "spiderman" once NFKC-normalised (as Django\'s normalize_username does), the same as "spiderman" in record 0: look-alike accounts cannot both be imported', 1))
  t.throws(() => parseDumpdata(JSON.stringify([record(1, 'spiderman'), record(2, 'spiderman')])),
    new DumpdataError('username "spiderman" already appears in record 0', 1), 'an exact repeat keeps its message')
  t.throws(() => parseDumpdata(JSON.stringify([record(1, '\u338F'.repeat(76))])),
    new DumpdataError('fields.username is longer than 150 characters once NFKC-normalised', 0))
})
