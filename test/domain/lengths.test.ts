// Lengths are counted as Python's len() counts them (issue 17, item 4): code points, not UTF-16 code
// units, so that a username of 150 astral letters (valid in Django) or a name of emoji is not refused
// for being "300 characters" long, at login, in the admin API, the CLI or an import.
import t from 'tap'
import { charField, pythonLength, serialize } from '../../src/domain/drf-fields.js'
import { DumpdataError, parseDumpdata } from '../../src/domain/dumpdata.js'
import { USER_CREATE_FIELDS } from '../../src/domain/users.js'
import { checkUsername } from '../../src/cli/io.js'

// 𠮷 (U+20BB7) is a letter Django's UnicodeUsernameValidator accepts, unchanged by NFKC, and two UTF-16 code units.
const ASTRAL = '\u{20BB7}'
const SPIDER = '\u{1F577}'

t.test('pythonLength counts code points; a lone surrogate counts one, as in Python', async t => {
  t.equal(pythonLength(''), 0)
  t.equal(pythonLength('spiderman'), 9)
  t.equal(pythonLength(ASTRAL.repeat(150)), 150)
  t.equal(pythonLength(`Peter ${SPIDER}`), 7)
  t.equal(pythonLength('\ud83d'), 1)
  t.equal(pythonLength('\udc77\ud83d'), 2, 'a low then a high surrogate are two')
  t.equal(pythonLength(`a\ud83d${SPIDER}`), 3)
})

t.test('DRF CharField max_length counts code points', async t => {
  const fields = { name: charField({ maxLength: 150 }) }
  const run = (name: string) => serialize({ body: { name }, form: false }, fields)
  t.same(run(SPIDER.repeat(150)), { data: { name: SPIDER.repeat(150) }, errors: {} })
  t.same(run(SPIDER.repeat(151)).errors, { name: ['Ensure this field has no more than 150 characters.'] })
  const create = (body: Record<string, string>) => serialize({ body, form: false }, USER_CREATE_FIELDS)
  t.same(create({ username: ASTRAL.repeat(150), password: 'x', first_name: SPIDER.repeat(150) }).errors, {})
  t.same(create({ username: ASTRAL.repeat(151), password: 'x', first_name: SPIDER.repeat(151) }).errors, {
    username: ['Ensure this field has no more than 150 characters.'],
    first_name: ['Ensure this field has no more than 150 characters.']
  })
})

t.test('import: 150 astral letters and a name of 150 emoji are one valid Django user', async t => {
  const record = (username: string, firstName: string) => JSON.stringify([{ model: 'auth.user', pk: 1, fields: { username, password: '!', first_name: firstName } }])
  const [user] = parseDumpdata(record(ASTRAL.repeat(150), SPIDER.repeat(150)))
  t.equal(user.username, ASTRAL.repeat(150))
  t.equal(user.firstName, SPIDER.repeat(150))
  t.throws(() => parseDumpdata(record(ASTRAL.repeat(151), '')), new DumpdataError('fields.username is longer than 150 characters', 0))
  t.throws(() => parseDumpdata(record('peter', SPIDER.repeat(151))), new DumpdataError('fields.first_name is longer than 150 characters', 0))
})

t.test('the CLI\'s USERNAME counts code points', async t => {
  t.equal(checkUsername(ASTRAL.repeat(150)), ASTRAL.repeat(150))
  t.throws(() => checkUsername(ASTRAL.repeat(151)), { message: 'the username may not be longer than 150 characters' })
})
