// DRF's CharField and Serializer input rules, exactly; mirrors rest_framework/fields.py and serializers.py
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

export interface CharFieldSchema { maxLength?: number }
export interface SerializerSchema { properties?: Record<string, CharFieldSchema>, required?: string[] }

/** DRF's first complaint about one CharField value (already stripped when a string), or undefined. */
function charFieldError (value: unknown, schema: CharFieldSchema, required: boolean): string | undefined {
  if (value === undefined) return required ? 'This field is required.' : undefined
  if (value === null) return 'This field may not be null.'
  if (typeof value !== 'string') return 'Not a valid string.'
  if (value === '') return 'This field may not be blank.'
  if (schema.maxLength !== undefined && value.length > schema.maxLength) {
    return `Ensure this field has no more than ${schema.maxLength} characters.`
  }
  if (value.includes('\u0000')) return 'Null characters are not allowed.'
  const surrogate = LONE_SURROGATE.exec(value)
  if (surrogate !== null) return `Surrogate characters are not allowed: U+${surrogate[0].charCodeAt(0).toString(16).toUpperCase()}.`
  return undefined
}

export interface RawBody {
  /** The parsed body: JSON, or a form whose repeated keys became arrays. */
  body: unknown
  /** True when the body came from a form (urlencoded or multipart), where the last of repeated keys counts. */
  form: boolean
  /** The JSON text, to tell 1.0 from 1 as Python does. */
  jsonText?: string
}

export type CleanResult =
  | { ok: true, data: Record<string, string> }
  | { ok: false, errors: Record<string, string[]> }

/**
 * A Serializer of CharFields, as DRF runs it: the body must be a dictionary; each field is required,
 * converted (numbers become strings), stripped, and checked for blank, length, NUL and lone
 * surrogates. Every failing field is reported, in the schema's order, with DRF's messages.
 */
export function cleanCharFields ({ body, form, jsonText }: RawBody, schema: SerializerSchema): CleanResult {
  if (body === null) return { ok: false, errors: { non_field_errors: ['No data provided'] } }
  // No body at all is an empty form to DRF.
  const data = body === undefined ? {} : body
  if (typeof data !== 'object' || Array.isArray(data)) {
    const isFloat = jsonText !== undefined && /[.eE]/.test(jsonText)
    return { ok: false, errors: { non_field_errors: [`Invalid data. Expected a dictionary, but got ${pythonType(data, isFloat)}.`] } }
  }
  const errors: Record<string, string[]> = {}
  const clean: Record<string, string> = {}
  const required = new Set(schema.required ?? [])
  for (const [name, field] of Object.entries(schema.properties ?? {})) {
    let value = (data as Record<string, unknown>)[name]
    // Django's QueryDict.get(): the last of repeated form keys.
    if (form && Array.isArray(value)) value = value.at(-1)
    if (typeof value === 'number' && Number.isFinite(value)) value = pythonNumber(value, jsonText === undefined ? undefined : rawMemberValue(jsonText, name))
    if (typeof value === 'string') value = pythonStrip(value)
    const message = charFieldError(value, field, required.has(name))
    if (message !== undefined) errors[name] = [message]
    else if (typeof value === 'string') clean[name] = value
  }
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, data: clean }
}
