// Django's four default password validators (issue 15, item 8), with Django's messages word for word,
// and the account service applying them on create and set-password for the CLI and the admin API alike.
import t from 'tap'
import { createAccounts } from '../../src/domain/accounts.js'
import { ValidationError } from '../../src/domain/errors.js'
import { commonPasswords, PASSWORD_VALIDATOR_NAMES, passwordProblems, quickRatio, validatePassword } from '../../src/domain/password-validation.js'
import { verifyPassword } from '../../src/domain/passwords.js'
import { FakeTokenStore, FakeUserStore } from '../helpers/fakes.js'

const SHORT = 'This password is too short. It must contain at least 8 characters.'
const COMMON = 'This password is too common.'
const NUMERIC = 'This password is entirely numeric.'
const only = (name: typeof PASSWORD_VALIDATOR_NAMES[number], minLength = 8) => ({ validators: [name], minLength })
const PETER = { username: 'spiderman', firstName: 'Peter', lastName: 'Parker', email: 'peter.parker@dailybugle.example' }

t.test('MinimumLengthValidator: fewer than min_length characters (code points, as Python counts)', async t => {
  const rule = only('MinimumLengthValidator')
  t.same(await passwordProblems('1', {}, rule), [SHORT])
  t.same(await passwordProblems('seven77', {}, rule), [SHORT])
  t.same(await passwordProblems('eight888', {}, rule), [])
  t.same(await passwordProblems('🔑🔑🔑🔑🔑🔑🔑', {}, rule), [SHORT], 'seven emoji are seven characters, not fourteen')
  t.same(await passwordProblems('abc', {}, only('MinimumLengthValidator', 12)), ['This password is too short. It must contain at least 12 characters.'])
  t.same(await passwordProblems('', {}, only('MinimumLengthValidator', 1)), ['This password is too short. It must contain at least 1 character.'], 'singular, as ngettext')
})

t.test('CommonPasswordValidator: the password, lowercased and stripped, is in the common list', async t => {
  const rule = only('CommonPasswordValidator')
  for (const password of ['password', 'PASSWORD', 'qwerty', 'letmein', 'spiderman', '123456']) {
    t.same(await passwordProblems(password, {}, rule), [COMMON], password)
  }
  for (const password of ['underoos', 'with great power', 'correcthorsebatterystaple']) {
    t.same(await passwordProblems(password, {}, rule), [], password)
  }
  const list = await commonPasswords()
  t.ok(list.size > 20_000, `at least Django's 20,000 entries (${list.size})`)
  t.equal(await commonPasswords(), list, 'loaded once')
})

t.test('NumericPasswordValidator: entirely digits, as Python\'s str.isdigit()', async t => {
  const rule = only('NumericPasswordValidator')
  for (const password of ['1', '12345678901', '١٢٣٤٥٦٧٨', '１２３４５６７８', '²³¹⁰', '①②③④⑤⑥⑦⑧']) {
    t.same(await passwordProblems(password, {}, rule), [NUMERIC], password)
  }
  for (const password of ['1234567a', '12 345678', '½½½½½½½½', '-12345678', '1.5', 'Ⅻ']) {
    t.same(await passwordProblems(password, {}, rule), [], `${password} is not isdigit()`)
  }
})

t.test('quickRatio is difflib.SequenceMatcher.quick_ratio', async t => {
  // Values from CPython: SequenceMatcher(a=a, b=b).quick_ratio()
  t.equal(quickRatio('spiderman', 'spiderman'), 1)
  t.equal(quickRatio('spiderman1', 'spiderman'), 0.9473684210526315)
  t.equal(quickRatio('underoos', 'spiderman'), 0.5882352941176471)
  t.equal(quickRatio('peterparker', 'peter'), 0.625)
  t.equal(quickRatio('admin-pass', 'admin'), 0.6666666666666666)
  t.equal(quickRatio('parkerpeter', 'parker'), 0.7058823529411765)
  t.equal(quickRatio('nick-fury-1', 'nick fury'), 0.8)
  t.equal(quickRatio('', ''), 1)
})

t.test('UserAttributeSimilarityValidator: too similar to an attribute or one of its parts', async t => {
  const rule = only('UserAttributeSimilarityValidator')
  t.same(await passwordProblems('Spiderman1', PETER, rule), ['The password is too similar to the username.'], 'case-insensitive')
  t.same(await passwordProblems('Peter123', PETER, rule), ['The password is too similar to the first name.'])
  t.same(await passwordProblems('parkerpeter', PETER, rule), ['The password is too similar to the last name.'], 'the first attribute past 0.7 wins')
  t.same(await passwordProblems('dailybugle', PETER, rule), ['The password is too similar to the email address.'], 'a part of the address split on non-word characters')
  t.same(await passwordProblems('nick-fury-1', { firstName: 'nick fury' }, rule), ['The password is too similar to the first name.'])
  t.same(await passwordProblems('underoos', PETER, rule), [])
  t.same(await passwordProblems('spiderman1', {}, rule), [], 'no user, nothing to compare')
  t.same(await passwordProblems('a'.repeat(40), { username: 'a' }, rule), [], 'a value ten times shorter is skipped (exceeds_maximum_length_ratio)')
  // Linear: a long password against long attributes is answered at once.
  const started = Date.now()
  t.same(await passwordProblems('x'.repeat(4096), { username: 'a.'.repeat(75), email: `${'b-'.repeat(120)}@x.example` }, rule), [])
  t.ok(Date.now() - started < 1000, 'no backtracking')
})

t.test('every failing validator is reported, in Django\'s order; ValidationError in DRF\'s shape', async t => {
  t.same(await passwordProblems('123456', PETER), [SHORT, COMMON, NUMERIC])
  t.same(await passwordProblems('1', PETER), [SHORT, NUMERIC], '1 is not on the common list')
  t.same(await passwordProblems('peter', PETER), ['The password is too similar to the first name.', SHORT, COMMON])
  t.same(await passwordProblems('with great power', PETER), [])
  await t.rejects(validatePassword('123456', PETER), new ValidationError({ password: [SHORT, COMMON, NUMERIC] }))
  t.same(await passwordProblems('1', PETER, { validators: [], minLength: 8 }), [], 'PASSWORD_VALIDATORS=off')
})

t.test('the account service refuses a weak password on create and set-password, and changes nothing', async t => {
  const users = new FakeUserStore()
  const tokens = new FakeTokenStore(users)
  const accounts = createAccounts({ users, tokens, now: () => 0 })
  await t.rejects(accounts.create({ username: 'spiderman', password: '1' }), new ValidationError({ password: [SHORT, NUMERIC] }))
  await t.rejects(accounts.create({ username: 'mj', firstName: 'Mary Jane', password: 'maryjane' }),
    new ValidationError({ password: ['The password is too similar to the first name.', COMMON] }))
  t.equal(users.rows.size, 0, 'nobody created')
  const user = await accounts.create({ ...PETER, password: 'underoos' })
  await t.rejects(accounts.setPassword(user.id, 'parker'), new ValidationError({ password: ['The password is too similar to the last name.', SHORT, COMMON] }))
  t.ok(await verifyPassword((await users.findById(user.id))?.password ?? '', 'underoos'), 'the password is unchanged')
  t.same(tokens.revocations, [], 'and nothing revoked')
  t.equal(await accounts.setPassword(999, '1'), undefined, 'an unknown user is not found, whatever the password')

  const lax = createAccounts({ users, tokens, now: () => 0, passwordRules: { validators: [], minLength: 8 } })
  t.equal((await lax.create({ username: 'tester', password: '1' })).username, 'tester', 'with the validators off, anything goes')
  const short = createAccounts({ users, tokens, now: () => 0, passwordRules: { validators: ['MinimumLengthValidator'], minLength: 20 } })
  await t.rejects(short.setPassword(user.id, 'with great power'), new ValidationError({ password: ['This password is too short. It must contain at least 20 characters.'] }))
})
