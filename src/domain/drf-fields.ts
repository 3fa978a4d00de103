// DRF's CharField, BooleanField and Serializer input rules, and the validators auth.User declares, exactly;
// mirrors rest_framework/fields.py and serializers.py, and django/contrib/auth/validators.py. One engine for every body.
import { rawMemberValue } from './tokens.js'

// Python's str.isspace() set, which str.strip() removes: JS's \s differs (it has U+FEFF, lacks U+001C–U+001F and U+0085).
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000'
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/**
 * The JSON-schema pattern of a CharField value: not blank once stripped, and no NUL. Built so that it
 * cannot backtrack (ESLint cannot check a pattern made of strings): the leading spaces and the first
 * other character are disjoint sets, so every character has exactly one place in a match.
 */
export const CHAR_FIELD_PATTERN = `^[${PY_SPACE}]*[^${PY_SPACE}\\u0000][^\\u0000]*$`

/** Whether a UTF-16 code unit is in Python's str.isspace() set (all of it is in the BMP), as PY_SPACE lists it. */
export function isPythonSpace (code: number): boolean {
  if (code <= 0x20) return (code >= 0x09 && code <= 0x0d) || (code >= 0x1c && code <= 0x20)
  if (code < 0x85) return false
  if (code <= 0xa0) return code === 0x85 || code === 0xa0
  if (code < 0x1680) return false
  if (code < 0x2000) return code === 0x1680
  if (code <= 0x200a) return true
  return code === 0x2028 || code === 0x2029 || code === 0x202f || code === 0x205f || code === 0x3000
}

/**
 * Python's str.strip(): a scan inward from both ends, linear in the length. (A regex such as
 * /^\s+|\s+$/g backtracks quadratically on "a" + 64 000 spaces + "b": seconds of a blocked event loop.)
 */
export function pythonStrip (value: string): string {
  let start = 0
  let end = value.length
  while (start < end && isPythonSpace(value.charCodeAt(start))) start++
  while (end > start && isPythonSpace(value.charCodeAt(end - 1))) end--
  return start === 0 && end === value.length ? value : value.slice(start, end)
}

/**
 * Python's len() of a string: its code points, as Django and DRF count max_length (and PostgreSQL
 * varchar(n) too). JavaScript's .length counts UTF-16 code units, two for each astral character
 * (an emoji, 𠮷); a lone surrogate counts one, as in Python.
 */
export function pythonLength (value: string): number {
  let length = value.length
  for (let i = 0; i < value.length - 1; i++) {
    const code = value.charCodeAt(i)
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = value.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) { length--; i++ }
    }
  }
  return length
}

/** Python's str() of a JSON number, as DRF's CharField makes a string of it: 1 → "1", 1.0 → "1.0". */
function pythonNumber (value: number, literal: string | undefined): string {
  if (literal !== undefined && /[.eE]/.test(literal) && Number.isInteger(value) && Math.abs(value) < 1e16) return `${value}.0`
  return String(value)
}

// Python's names for JSON types, as DRF's "Expected a dictionary, but got list." uses them.
function pythonType (value: unknown, isFloat: boolean): string {
  if (Array.isArray(value)) return 'list'
  if (typeof value === 'number') return isFloat || !Number.isInteger(value) ? 'float' : 'int'
  if (typeof value === 'boolean') return 'bool'
  return 'str'
}

// ---- Validators (Django's, as auth.User declares them) ----

/** A Django validator on a clean string: its message when the value fails, or undefined. */
export type Validator = (value: string) => string | undefined

export const INVALID_USERNAME = 'Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.'
export const INVALID_EMAIL = 'Enter a valid email address.'

// Django's UnicodeUsernameValidator (Python's \w is letters, digits and the underscore), and a
// close approximation of its EmailValidator.
const USERNAME_RE = /^[\p{L}\p{N}_.@+-]+$/u
const EMAIL_RE = /^[^\s@"(),:;<>[\\\]]+@(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+\p{L}{2,63}$/u

/** Django's UnicodeUsernameValidator: letters, digits and @/./+/-/_ only. */
export const validateUsername: Validator = value => USERNAME_RE.test(value) ? undefined : INVALID_USERNAME
/** Django's EmailValidator (closely). */
export const validateEmail: Validator = value => EMAIL_RE.test(value) ? undefined : INVALID_EMAIL

// ---- Fields ----

/** DRF's CharField: required unless said otherwise; blank only with allowBlank; validators run last, in order. */
export interface CharField { kind: 'char', required: boolean, allowBlank: boolean, maxLength?: number, validators: readonly Validator[] }
/** DRF's BooleanField: TRUE_VALUES and FALSE_VALUES, nothing else. */
export interface BooleanField { kind: 'boolean', required: boolean }
export type Field = CharField | BooleanField
/** A Serializer's declared fields, in DRF's order (errors are reported in it). */
export type Fields = Readonly<Record<string, Field>>

export const charField = (options: { required?: boolean, allowBlank?: boolean, maxLength?: number, validators?: readonly Validator[] } = {}): CharField =>
  ({ kind: 'char', required: options.required ?? true, allowBlank: options.allowBlank ?? false, maxLength: options.maxLength, validators: options.validators ?? [] })
export const booleanField = (options: { required?: boolean } = {}): BooleanField => ({ kind: 'boolean', required: options.required ?? true })

// DRF's BooleanField.TRUE_VALUES and FALSE_VALUES.
const TRUE_VALUES = new Set<unknown>(['t', 'T', 'y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON', '1', 1, true])
const FALSE_VALUES = new Set<unknown>(['f', 'F', 'n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF', '0', 0, false])

type Cleaned = { error: string } | { value: string | boolean }

/** DRF's CharField.run_validation: a number becomes a string, then strip, blank, length, NUL, surrogates, validators. */
function cleanChar (value: unknown, field: CharField, literal: string | undefined): Cleaned {
  if (typeof value === 'number' && Number.isFinite(value)) value = pythonNumber(value, literal)
  if (typeof value !== 'string') return { error: 'Not a valid string.' }
  const text = pythonStrip(value)
  if (text === '') return field.allowBlank ? { value: '' } : { error: 'This field may not be blank.' }
  if (field.maxLength !== undefined && pythonLength(text) > field.maxLength) {
    return { error: `Ensure this field has no more than ${field.maxLength} characters.` }
  }
  if (text.includes('\u0000')) return { error: 'Null characters are not allowed.' }
  const surrogate = LONE_SURROGATE.exec(text)
  if (surrogate !== null) return { error: `Surrogate characters are not allowed: U+${surrogate[0].charCodeAt(0).toString(16).toUpperCase()}.` }
  for (const validator of field.validators) {
    const error = validator(text)
    if (error !== undefined) return { error }
  }
  return { value: text }
}

/** DRF's first complaint about one present value, or the clean value. */
function cleanField (value: unknown, field: Field, literal: string | undefined): Cleaned {
  if (value === null) return { error: 'This field may not be null.' }
  if (field.kind === 'char') return cleanChar(value, field, literal)
  if (TRUE_VALUES.has(value)) return { value: true }
  if (FALSE_VALUES.has(value)) return { value: false }
  return { error: 'Must be a valid boolean.' }
}

export interface RawBody {
  /** The parsed body: JSON, or a form whose repeated keys became arrays. */
  body: unknown
  /** True when the body came from a form (urlencoded or multipart), where the last of repeated keys counts. */
  form: boolean
  /** The JSON text, to tell 1.0 from 1 as Python does. */
  jsonText?: string
}

/** What a Serializer makes of a body: the clean values of the fields that passed, and DRF's errors for the rest. */
export interface Serialized { data: Record<string, string | boolean>, errors: Record<string, string[]> }

/**
 * A Serializer's to_internal_value, as DRF runs it: the body must be a dictionary (no body at all is
 * an empty form); unknown keys are ignored; each declared field is required or skipped when absent,
 * then cleaned; every failing field is reported, in the declared order, with DRF's messages.
 */
export function serialize ({ body, form, jsonText }: RawBody, fields: Fields): Serialized {
  if (body === null) return { data: {}, errors: { non_field_errors: ['No data provided'] } }
  const input = body === undefined ? {} : body
  if (typeof input !== 'object' || Array.isArray(input)) {
    const isFloat = jsonText !== undefined && /[.eE]/.test(jsonText)
    return { data: {}, errors: { non_field_errors: [`Invalid data. Expected a dictionary, but got ${pythonType(input, isFloat)}.`] } }
  }
  const errors: Record<string, string[]> = {}
  const data: Record<string, string | boolean> = {}
  for (const [name, field] of Object.entries(fields)) {
    let value = (input as Record<string, unknown>)[name]
    // Django's QueryDict.get(): the last of repeated form keys.
    if (form && Array.isArray(value)) value = value.at(-1)
    if (value === undefined) {
      if (field.required) errors[name] = ['This field is required.']
      continue
    }
    const result = cleanField(value, field, jsonText === undefined ? undefined : rawMemberValue(jsonText, name))
    if ('error' in result) errors[name] = [result.error]
    else data[name] = result.value
  }
  return { data, errors }
}

// ---- The token bodies: a Serializer of CharFields read off the route's JSON schema ----

export interface CharFieldSchema { maxLength?: number }
export interface SerializerSchema { properties?: Record<string, CharFieldSchema>, required?: string[] }

/** The CharFields a body schema declares: each named in `required` is required, none may be blank. */
export function charFields (schema: SerializerSchema): Fields {
  const required = new Set(schema.required ?? [])
  return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([name, { maxLength }]) =>
    [name, charField({ required: required.has(name), maxLength })]))
}

export type CleanResult =
  | { ok: true, data: Record<string, string> }
  | { ok: false, errors: Record<string, string[]> }

/**
 * A Serializer of CharFields, as DRF runs it: the body must be a dictionary; each field is required,
 * converted (numbers become strings), stripped, and checked for blank, length, NUL and lone
 * surrogates. Every failing field is reported, in the schema's order, with DRF's messages.
 */
export function cleanCharFields (raw: RawBody, schema: SerializerSchema): CleanResult {
  const { data, errors } = serialize(raw, charFields(schema))
  // Only CharFields: every clean value is a string.
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, data: data as Record<string, string> }
}
