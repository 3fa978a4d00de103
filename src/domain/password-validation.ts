// Rules for new passwords: Django's four default AUTH_PASSWORD_VALIDATORS, with Django's messages
// word for word; mirrors django/contrib/auth/password_validation.py. Applied to passwords set through
// the account service (the CLI and the admin API), never to hashes imported from Django.
import { ValidationError } from './errors.js'

/** The validators, by Django's class names, in the order Django's settings template lists them. */
export const PASSWORD_VALIDATOR_NAMES = ['UserAttributeSimilarityValidator', 'MinimumLengthValidator', 'CommonPasswordValidator', 'NumericPasswordValidator'] as const
export type PasswordValidatorName = typeof PASSWORD_VALIDATOR_NAMES[number]

/** Which validators run, in order, and MinimumLengthValidator's min_length (settings PASSWORD_VALIDATORS, PASSWORD_MIN_LENGTH). */
export interface PasswordRules {
  validators: readonly PasswordValidatorName[]
  minLength: number
}

/** Django's defaults: all four, and min_length 8. */
export const DEFAULT_PASSWORD_RULES: PasswordRules = { validators: PASSWORD_VALIDATOR_NAMES, minLength: 8 }

/** What UserAttributeSimilarityValidator compares with: auth.User's username, first_name, last_name and email. */
export interface PasswordUser {
  username?: string
  firstName?: string
  lastName?: string
  email?: string
}

/** DEFAULT_USER_ATTRIBUTES with each field's verbose_name, as the message names it. */
const USER_ATTRIBUTES: Array<[keyof PasswordUser, string]> = [
  ['username', 'username'],
  ['firstName', 'first name'],
  ['lastName', 'last name'],
  ['email', 'email address']
]
/** UserAttributeSimilarityValidator's default max_similarity. */
const MAX_SIMILARITY = 0.7

/** Python's len(): code points, not UTF-16 units. */
const codePoints = (text: string) => [...text]

/**
 * SequenceMatcher(a=a, b=b).quick_ratio(): twice the size of the multiset intersection of the two
 * strings' characters over their total length. Linear in the lengths; no regular expression.
 */
export function quickRatio (a: string, b: string): number {
  const left = codePoints(a)
  const right = codePoints(b)
  const available = new Map<string, number>()
  for (const char of right) available.set(char, (available.get(char) ?? 0) + 1)
  let matches = 0
  for (const char of left) {
    const count = available.get(char) ?? 0
    if (count > 0) {
      matches++
      available.set(char, count - 1)
    }
  }
  const length = left.length + right.length
  return length === 0 ? 1 : 2 * matches / length
}

/** exceeds_maximum_length_ratio: a value so much shorter than the password can never be similar enough. */
function exceedsMaximumLengthRatio (password: string, value: string): boolean {
  const passwordLength = codePoints(password).length
  const valueLength = codePoints(value).length
  return passwordLength >= 10 * valueLength && valueLength < MAX_SIMILARITY / 2 * passwordLength
}

// Python's `\W+` on str: a run of characters that are neither letters, numbers nor the underscore.
const NON_WORD = /[^\p{L}\p{N}_]+/u

/** UserAttributeSimilarityValidator: the first attribute the password is too similar to, or undefined. */
function similarAttribute (password: string, user: PasswordUser): string | undefined {
  const lowered = password.toLowerCase()
  for (const [attribute, verboseName] of USER_ATTRIBUTES) {
    const value = user[attribute]
    if (value === undefined || value === '') continue
    const valueLower = value.toLowerCase()
    // re.split(r"\W+", value_lower) + [value_lower]
    for (const part of [...valueLower.split(NON_WORD), valueLower]) {
      if (exceedsMaximumLengthRatio(lowered, part)) continue
      if (quickRatio(lowered, part) >= MAX_SIMILARITY) return verboseName
    }
  }
  return undefined
}

// Python's str.isdigit(): decimal digits (Nd), and the other characters Unicode gives a digit value
// (superscripts, subscripts, circled and parenthesized digits…), listed as Python 3's unicodedata has them.
const DIGITS = /^[\p{Nd}\u{b2}\u{b3}\u{b9}\u{1369}-\u{1371}\u{19da}\u{2070}\u{2074}-\u{2079}\u{2080}-\u{2089}\u{2460}-\u{2468}\u{2474}-\u{247c}\u{2488}-\u{2490}\u{24ea}\u{24f5}-\u{24fd}\u{24ff}\u{2776}-\u{277e}\u{2780}-\u{2788}\u{278a}-\u{2792}\u{10a40}-\u{10a43}\u{10e60}-\u{10e68}\u{11052}-\u{1105a}\u{1f100}-\u{1f10a}]+$/u

let common: Promise<Set<string>> | undefined
/**
 * The common passwords, lowercase: the password dictionary of @zxcvbn-ts/language-common (about
 * 49,000 entries, where Django ships 20,000). Loaded on first use, once.
 */
export async function commonPasswords (): Promise<Set<string>> {
  common ??= import('@zxcvbn-ts/language-common').then(({ dictionary }) => new Set(dictionary['passwords-common'].map(word => word.toLowerCase())))
  return await common
}

/** Django's messages for each rule, word for word. */
export const PASSWORD_MESSAGES = {
  tooShort: (minLength: number) => `This password is too short. It must contain at least ${minLength} character${minLength === 1 ? '' : 's'}.`,
  tooCommon: 'This password is too common.',
  entirelyNumeric: 'This password is entirely numeric.',
  tooSimilar: (verboseName: string) => `The password is too similar to the ${verboseName}.`
} as const

/**
 * validate_password: every failing validator's message, in the configured order (none when the
 * password passes). `user` is the account the password is for, as it is or will be.
 */
export async function passwordProblems (password: string, user: PasswordUser, rules: PasswordRules = DEFAULT_PASSWORD_RULES): Promise<string[]> {
  const problems: string[] = []
  for (const name of rules.validators) {
    switch (name) {
      case 'UserAttributeSimilarityValidator': {
        const attribute = similarAttribute(password, user)
        if (attribute !== undefined) problems.push(PASSWORD_MESSAGES.tooSimilar(attribute))
        break
      }
      case 'MinimumLengthValidator':
        if (codePoints(password).length < rules.minLength) problems.push(PASSWORD_MESSAGES.tooShort(rules.minLength))
        break
      case 'CommonPasswordValidator':
        if ((await commonPasswords()).has(password.toLowerCase().trim())) problems.push(PASSWORD_MESSAGES.tooCommon)
        break
      case 'NumericPasswordValidator':
        if (DIGITS.test(password)) problems.push(PASSWORD_MESSAGES.entirelyNumeric)
        break
    }
  }
  return problems
}

/** Throws DRF's 400 `{"password": [every message]}` when the password fails a rule. */
export async function validatePassword (password: string, user: PasswordUser, rules: PasswordRules = DEFAULT_PASSWORD_RULES): Promise<void> {
  const problems = await passwordProblems(password, user, rules)
  if (problems.length > 0) throw new ValidationError({ password: problems })
}
