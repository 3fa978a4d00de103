// Unit tests of src/domain/drf-fields.ts, DRF's field engine for every body: no Fastify, no database.
// The expected answers are DRF's (rest_framework/fields.py, serializers.py) and Django's validators'.
import t from 'tap'
import {
  booleanField, charField, charFields, cleanCharFields, type Fields, INVALID_EMAIL, INVALID_USERNAME, type RawBody, serialize,
  validateEmail, validateUsername
} from '../../src/domain/drf-fields.js'
import { DUPLICATE_USERNAME, SET_PASSWORD_FIELDS, USER_CREATE_FIELDS, USER_UPDATE_FIELDS } from '../../src/domain/users.js'

/** A JSON body, as the HTTP plumbing hands it over: the parsed value and its text. */
const json = (text: string): RawBody => ({ body: JSON.parse(text), form: false, jsonText: text })
/** A form body: repeated keys are arrays. */
const form = (body: Record<string, string | string[]>): RawBody => ({ body, form: true })

const NAME = { name: charField({ maxLength: 5 }) }
/** The error of the one field `name`, or its clean value. */
const one = (raw: RawBody, fields: Fields = NAME) => {
  const { data, errors } = serialize(raw, fields)
  return errors.name?.[0] ?? data.name
}

t.test('CharField: strips as Python does, then refuses blank', async t => {
  t.equal(one(json('{"name": "  ab \\t"}')), 'ab')
  t.equal(one(json('{"name": "\\u3000ab\\u2028"}')), 'ab')
  t.equal(one(json('{"name": "\\ufeffab"}')), '\ufeffab', 'U+FEFF is not a Python space')
  t.equal(one(json('{"name": ""}')), 'This field may not be blank.')
  t.equal(one(json('{"name": " \\n\\u00a0 "}')), 'This field may not be blank.')
  t.equal(one(json('{"name": "  "}'), { name: charField({ allowBlank: true }) }), '', 'allow_blank: blank becomes ""')
})

t.test('CharField: max_length counts the stripped value', async t => {
  t.equal(one(json('{"name": "abcde"}')), 'abcde')
  t.equal(one(json('{"name": "   abcde   "}')), 'abcde')
  t.equal(one(json('{"name": "abcdef"}')), 'Ensure this field has no more than 5 characters.')
  t.equal(one(json('{"name": "abcdef"}'), { name: charField() }), 'abcdef', 'no max_length, no limit')
})

t.test('CharField: NUL and lone surrogates are refused, in that order after the length', async t => {
  t.equal(one(json('{"name": "a\\u0000b"}')), 'Null characters are not allowed.')
  t.equal(one(json('{"name": "a\\ud800"}')), 'Surrogate characters are not allowed: U+D800.')
  t.equal(one(json('{"name": "\\udc00a"}')), 'Surrogate characters are not allowed: U+DC00.')
  t.equal(one(json('{"name": "\\ud83d\\ude00"}')), '\ud83d\ude00', 'a surrogate pair is one character')
  t.equal(one(json('{"name": "abcd\\u0000\\u0000"}')), 'Ensure this field has no more than 5 characters.')
  t.equal(one(json('{"name": "\\u0000\\ud800"}')), 'Null characters are not allowed.')
})

t.test('CharField: numbers become Python\'s str() of them; other types are not strings', async t => {
  t.equal(one(json('{"name": 1}')), '1')
  t.equal(one(json('{"name": 1.0}')), '1.0')
  t.equal(one(json('{"name": 1e2}')), '100.0')
  t.equal(one(json('{"name": -2.5}')), '-2.5')
  t.equal(one(json('{"name": 123456}')), 'Ensure this field has no more than 5 characters.')
  t.equal(one({ body: { name: 1 }, form: false }), '1', 'without the JSON text, 1 is an int')
  t.equal(one(json('{"name": true}')), 'Not a valid string.')
  t.equal(one(json('{"name": ["a"]}')), 'Not a valid string.')
  t.equal(one(json('{"name": {"a": 1}}')), 'Not a valid string.')
  t.equal(one(json('{"name": null}')), 'This field may not be null.')
})

t.test('BooleanField: DRF\'s TRUE_VALUES and FALSE_VALUES, nothing else', async t => {
  const flag = { name: booleanField() }
  for (const value of ['"t"', '"T"', '"y"', '"Y"', '"yes"', '"Yes"', '"YES"', '"true"', '"True"', '"TRUE"', '"on"', '"On"', '"ON"', '"1"', '1', '1.0', 'true']) {
    t.equal(one(json(`{"name": ${value}}`), flag), true, value)
  }
  for (const value of ['"f"', '"F"', '"n"', '"N"', '"no"', '"No"', '"NO"', '"false"', '"False"', '"FALSE"', '"off"', '"Off"', '"OFF"', '"0"', '0', 'false']) {
    t.equal(one(json(`{"name": ${value}}`), flag), false, value)
  }
  for (const value of ['"tRUE"', '" true"', '"2"', '2', '""', '[]', '{}', '"oN "']) {
    t.equal(one(json(`{"name": ${value}}`), flag), 'Must be a valid boolean.', value)
  }
  t.equal(one(json('{"name": null}'), flag), 'This field may not be null.')
  t.equal(one(form({ name: 'on' }), flag), true, 'a form\'s checkbox')
})

t.test('UnicodeUsernameValidator: letters, digits and @/./+/-/_', async t => {
  for (const name of ['spiderman', 'peter.parker', 'p+p@q-r_s', 'Ünïcödé', 'пользователь', '名前', '١٢٣']) t.equal(validateUsername(name), undefined, name)
  for (const name of ['peter parker', 'a/b', 'a!', 'a\u200b', 'a#b', 'a\u0301']) t.equal(validateUsername(name), INVALID_USERNAME, JSON.stringify(name))
})

t.test('EmailValidator: a local part, an @ and a domain with a dotted name', async t => {
  for (const email of ['peter@example.com', 'p.p+tag@mail.example.co.uk', 'x@a-b.example', 'ü@bücher.de']) t.equal(validateEmail(email), undefined, email)
  for (const email of ['peter', 'peter@', '@example.com', 'a@b', 'a b@example.com', 'a@@example.com', 'a@-example.com', 'a@example.c', 'a"b@example.com']) {
    t.equal(validateEmail(email), INVALID_EMAIL, email)
  }
  t.equal(one(json('{"name": " peter@example.com "}'), { name: charField({ validators: [validateEmail] }) }), 'peter@example.com', 'validators see the stripped value')
})

t.test('the email validator is linear on adversarial values', async t => {
  const n = 64 * 1024
  for (const value of ['a@' + 'a.'.repeat(n) + '!', 'a@' + 'a'.repeat(n) + '.', 'a'.repeat(n) + '@', '-'.repeat(n) + '!']) {
    const start = performance.now()
    validateEmail(value)
    validateUsername(value)
    t.ok(performance.now() - start < 200, `${value.slice(0, 6)}… (${value.length})`)
  }
})

t.test('a Serializer: required, optional and unknown fields; every error, in the declared order', async t => {
  const fields = { b: charField(), a: charField({ required: false }), c: booleanField(), d: booleanField({ required: false }) }
  t.same(serialize(json('{}'), fields), { data: {}, errors: { b: ['This field is required.'], c: ['This field is required.'] } })
  const { data, errors } = serialize(json('{"c": "x", "zz": 1, "a": " A ", "b": null}'), fields)
  t.same(errors, { b: ['This field may not be null.'], c: ['Must be a valid boolean.'] })
  t.same(Object.keys(errors), ['b', 'c'], 'the declared order, not the body\'s')
  t.same(data, { a: 'A' }, 'unknown keys are ignored, clean fields are kept')
  t.same(serialize(json('{"b": "x", "c": "no"}'), fields), { data: { b: 'x', c: false }, errors: {} })
})

t.test('a Serializer: the body must be a dictionary', async t => {
  t.same(serialize({ body: null, form: false, jsonText: 'null' }, NAME).errors, { non_field_errors: ['No data provided'] })
  t.same(serialize({ body: undefined, form: false }, NAME).errors, { name: ['This field is required.'] }, 'no body at all is an empty form')
  const got = (text: string) => serialize(json(text), NAME).errors.non_field_errors
  t.same(got('[]'), ['Invalid data. Expected a dictionary, but got list.'])
  t.same(got('1'), ['Invalid data. Expected a dictionary, but got int.'])
  t.same(got('1.0'), ['Invalid data. Expected a dictionary, but got float.'])
  t.same(got('1.5'), ['Invalid data. Expected a dictionary, but got float.'])
  t.same(got('true'), ['Invalid data. Expected a dictionary, but got bool.'])
  t.same(got('"x"'), ['Invalid data. Expected a dictionary, but got str.'])
})

t.test('a Serializer over a form: the last of repeated keys counts', async t => {
  t.same(serialize(form({ name: ['first', ' last '] }), NAME), { data: { name: 'last' }, errors: {} })
  t.same(serialize(form({ name: ['x', ''] }), NAME).errors, { name: ['This field may not be blank.'] })
})

t.test('the token bodies: CharFields read off the route\'s JSON schema', async t => {
  const schema = { properties: { username: { maxLength: 3 }, password: {} }, required: ['username', 'password'] }
  t.same(charFields(schema), { username: charField({ maxLength: 3 }), password: charField() })
  t.same(cleanCharFields(json('{"username": " abc ", "password": 12}'), schema), { ok: true, data: { username: 'abc', password: '12' } })
  t.same(cleanCharFields(json('{"username": "abcd"}'), schema), {
    ok: false,
    errors: { username: ['Ensure this field has no more than 3 characters.'], password: ['This field is required.'] }
  })
  t.same(cleanCharFields(json('{}'), { properties: { refresh: {} } }), { ok: true, data: {} }, 'a field not in `required` may be absent')
})

t.test('the admin bodies: auth.User\'s fields', async t => {
  const create = serialize(json('{"username": "a b", "password": "", "email": "nope", "first_name": " ", "is_staff": "yes"}'), USER_CREATE_FIELDS)
  t.same(create, {
    data: { first_name: '', is_staff: true },
    errors: { username: [INVALID_USERNAME], password: ['This field may not be blank.'], email: [INVALID_EMAIL] }
  })
  t.same(serialize(json('{}'), USER_CREATE_FIELDS).errors, { username: ['This field is required.'], password: ['This field is required.'] })
  t.same(serialize(json('{"username": "x"}'), USER_UPDATE_FIELDS), { data: {}, errors: {} }, 'the username is not an update field')
  t.same(serialize(json(`{"last_name": "${'x'.repeat(151)}", "email": ""}`), USER_UPDATE_FIELDS), {
    data: { email: '' },
    errors: { last_name: ['Ensure this field has no more than 150 characters.'] }
  })
  t.same(serialize(json('{"password": 1.0}'), SET_PASSWORD_FIELDS), { data: { password: '1.0' }, errors: {} })
  t.equal(DUPLICATE_USERNAME, 'A user with that username already exists.')
})
