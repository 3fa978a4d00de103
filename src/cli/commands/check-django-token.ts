// `check-django-token TOKEN|-`: before the cutover, proves that a token Django minted verifies here: its
// algorithm, its signature under the configured key, its audience and issuer, and the claim names, each
// reported on one line, with exit code 1 on any mismatch. With the wrong key the service would start
// without a word and log everybody out. Neither the token nor a key is ever printed.
import { createVerifier } from 'fast-jwt'
import { DatabaseError } from '../../db/client.js'
import { isAlgorithm, isHmac, loadKeySet, type Algorithm, type KeySet, type VerifyingKey } from '../../domain/keys.js'
import { keySettings, loadConfig, type Config } from '../../domain/settings.js'
import { checkClaims, isCompactJws, isCutOff, userIdOf, type Claims } from '../../domain/tokens.js'
import { CliError, readInput, usageError, type Command } from '../io.js'
import { withStores } from '../stores.js'

/** One line of the report: a match, a mismatch (exit code 1), or a note that changes nothing. */
interface Finding { kind: 'ok' | 'MISMATCH' | 'note', text: string }
const ok = (text: string): Finding => ({ kind: 'ok', text })
const mismatch = (text: string): Finding => ({ kind: 'MISMATCH', text })
const TOKEN_TYPES: unknown[] = ['access', 'refresh', 'sliding']
/** Headers that the token backend refuses (src/domain/tokens.ts decode). */
const REFUSED_HEADERS = ['crit', 'jku', 'jwk', 'x5u', 'x5c']

const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z')
const isEpoch = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value)

export const checkDjangoToken: Command = async (args, _options, io) => {
  if (args.length !== 1) throw usageError('check-django-token needs one TOKEN (- reads it from standard input, out of the shell\'s history)')
  const config = loadConfig(io.env)
  if (config.JWT_SIGNING_KEY === undefined) {
    throw new CliError('JWT_SIGNING_KEY is not set: set it (or JWT_SIGNING_KEY_FILE) to Django\'s SIMPLE_JWT[\'SIGNING_KEY\'] (by default its SECRET_KEY)')
  }
  const token = args[0] === '-' ? (await readInput('-', io)).trim() : args[0]
  const { header, payload } = parse(token)
  const keys = loadKeySet(keySettings(config, config.JWT_SIGNING_KEY))
  const findings = [...checkHeader(header, config), ...checkSignature(token, header, keys), ...checkPayload(token, payload, config)]
  const exp = payload.exp
  const expired = isEpoch(exp) && exp * 1000 <= Date.now() - config.JWT_LEEWAY * 1000
  if (!findings.some(f => f.kind === 'MISMATCH')) {
    // The token backend's own claim checks, as of a moment before expiry: nothing above may disagree with them.
    try {
      checkClaims(payload, expired ? exp * 1000 - 1 : Date.now(), config)
    } catch (err) {
      findings.push(mismatch(`the service refuses it: ${(err as Error).message}`))
    }
  }
  const userId = userIdOf(token, payload, config.USER_ID_CLAIM)
  if (userId !== undefined) findings.push(await checkUser(config, userId, payload))
  io.stdout.write(findings.map(f => `${f.kind.padEnd(8)}  ${f.text}\n`).join(''))
  const mismatches = findings.filter(f => f.kind === 'MISMATCH').length
  if (mismatches > 0) {
    io.stderr.write(`Error: ${mismatches === 1 ? 'one mismatch' : `${mismatches} mismatches`} (above): the service would refuse this token, and every other one Django minted\n`)
    return 1
  }
  const summary = `${String(header.alg)}, ${config.USER_ID_CLAIM} ${String(userId)}, ${String(payload[config.TOKEN_TYPE_CLAIM])}`
  io.stdout.write(expired
    ? `The token expired at ${iso(exp)}, but the key and settings match: ${summary}.\n`
    : `The token verifies with the configured key and settings: ${summary}, expires ${iso(exp as number)}.\n`)
  return 0
}

/** The token's header and payload, or a CliError saying why it is no JWT at all. */
function parse (token: string): { header: Claims, payload: Claims } {
  if (!isCompactJws(token)) {
    throw new CliError('the token is not a JWT (three base64url segments, at most 8192 characters): was it copied whole?')
  }
  const [header, payload] = token.split('.').slice(0, 2).map(segment => {
    try {
      const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Claims
    } catch {}
    throw new CliError('the token is not a JWT: its header and payload must be JSON objects')
  })
  return { header, payload }
}

function checkHeader (header: Claims, config: Config): Finding[] {
  const { alg } = header
  const configured = config.JWT_ALGORITHM
  const findings = [alg === configured
    ? ok(`alg ${configured}, as JWT_ALGORITHM`)
    : mismatch(`the token is signed with ${JSON.stringify(alg)}, but JWT_ALGORITHM is ${configured}${isAlgorithm(alg) ? `: set JWT_ALGORITHM=${alg} (Django's SIMPLE_JWT['ALGORITHM'])` : ''}`)]
  for (const name of REFUSED_HEADERS) {
    if (header[name] !== undefined) findings.push(mismatch(`the token has a "${name}" header, which the service refuses`))
  }
  return findings
}

/** Tries every configured key (the current one, then the retired ones) with the token's own algorithm. */
function checkSignature (token: string, header: Claims, keys: KeySet): Finding[] {
  const alg = header.alg
  if (!isAlgorithm(alg)) return [mismatch(`the signature was not checked: ${JSON.stringify(alg)} is no algorithm the service accepts`)]
  const verifiedBy = [keys.current, ...keys.previous].find(key => verifies(token, key, alg))
  const retired = keys.previous.length > 0 ? ', nor with JWT_PREVIOUS_VERIFYING_KEYS' : ''
  if (verifiedBy === undefined) {
    return [mismatch(isHmac(keys.alg)
      ? `the signature does not verify with JWT_SIGNING_KEY${retired}: is it Django's SIMPLE_JWT['SIGNING_KEY'] (by default its SECRET_KEY)?`
      : `the signature does not verify with the verifying key (JWT_VERIFYING_KEY, or the public key of JWT_SIGNING_KEY)${retired}: is it Django's SIMPLE_JWT['VERIFYING_KEY'], the public key of its SIGNING_KEY?`)]
  }
  const findings = [ok(verifiedBy === keys.current
    ? `the signature verifies with ${isHmac(keys.alg) ? 'JWT_SIGNING_KEY' : 'the verifying key'}`
    : `the signature verifies with the retired key ${JSON.stringify(verifiedBy.kid)} of JWT_PREVIOUS_VERIFYING_KEYS`)]
  if (header.kid !== undefined && header.kid !== verifiedBy.kid) {
    findings.push(mismatch(`the token's kid ${JSON.stringify(header.kid)} names none of the configured keys (the key that verifies it is ${JSON.stringify(verifiedBy.kid)}): the service refuses it`))
  }
  return findings
}

function verifies (token: string, key: VerifyingKey, alg: Algorithm): boolean {
  try {
    createVerifier({ key: key.key, algorithms: [alg], complete: true, ignoreExpiration: true, ignoreNotBefore: true })(token)
    return true
  } catch {
    return false
  }
}

function checkPayload (token: string, payload: Claims, config: Config): Finding[] {
  const claims = `its claims are ${Object.keys(payload).join(', ')}`
  const findings = [
    registered('aud', payload.aud, 'JWT_AUDIENCE', config.JWT_AUDIENCE, 'AUDIENCE'),
    registered('iss', payload.iss, 'JWT_ISSUER', config.JWT_ISSUER, 'ISSUER')
  ]
  const typeClaim = config.TOKEN_TYPE_CLAIM
  const type = payload[typeClaim]
  if (TOKEN_TYPES.includes(type)) findings.push(ok(`the token type is ${String(type)}, in "${typeClaim}" (TOKEN_TYPE_CLAIM)`))
  else {
    const other = Object.keys(payload).find(name => TOKEN_TYPES.includes(payload[name]))
    findings.push(mismatch(type !== undefined
      ? `"${typeClaim}" (TOKEN_TYPE_CLAIM) is ${JSON.stringify(type)}, not access, refresh or sliding`
      : `the token has no "${typeClaim}" claim (TOKEN_TYPE_CLAIM)${other === undefined ? `; ${claims}` : `; "${other}" holds its type: set TOKEN_TYPE_CLAIM=${other} (Django's SIMPLE_JWT['TOKEN_TYPE_CLAIM'])`}`))
  }
  const userClaim = config.USER_ID_CLAIM
  const userId = userIdOf(token, payload, userClaim)
  findings.push(userId !== undefined
    ? ok(`the user id is ${userId}, in "${userClaim}" (USER_ID_CLAIM)`)
    : mismatch(payload[userClaim] === undefined
      ? `the token has no "${userClaim}" claim (USER_ID_CLAIM); ${claims}: set USER_ID_CLAIM as Django's SIMPLE_JWT['USER_ID_CLAIM']`
      : `"${userClaim}" (USER_ID_CLAIM) is not a positive integer: the service knows users by integer ids only`))
  const jtiClaim = config.JTI_CLAIM
  const jti = payload[jtiClaim]
  findings.push(typeof jti === 'string' && jti.length > 0 && jti.length <= 255
    ? ok(`the token has an id, in "${jtiClaim}" (JTI_CLAIM)`)
    : mismatch(jti === undefined
      ? `the token has no "${jtiClaim}" claim (JTI_CLAIM); ${claims}: set JTI_CLAIM as Django's SIMPLE_JWT['JTI_CLAIM']`
      : `"${jtiClaim}" (JTI_CLAIM) is not a string of 1 to 255 characters`))
  findings.push(...times(payload, config))
  return findings
}

/** `aud` or `iss` against its setting: both unset, or the configured value among the token's. */
function registered (claim: string, value: unknown, setting: string, configured: string | undefined, django: string): Finding {
  const shown = JSON.stringify(value)
  if (configured === undefined) {
    return value === undefined
      ? ok(`no ${claim}, and ${setting} is unset`)
      : mismatch(`the token's ${claim} is ${shown}, but ${setting} is unset: set ${setting} as Django's SIMPLE_JWT['${django}']`)
  }
  if (value === undefined) return mismatch(`the token has no ${claim}, but ${setting} is ${JSON.stringify(configured)}: unset ${setting} (Django's SIMPLE_JWT['${django}'] is unset)`)
  const matches = value === configured || (Array.isArray(value) && value.every(v => typeof v === 'string') && value.includes(configured))
  return matches
    ? ok(`${claim} ${JSON.stringify(configured)}, as ${setting}`)
    : mismatch(`the token's ${claim} is ${shown}, but ${setting} is ${JSON.stringify(configured)}: set ${setting} as Django's SIMPLE_JWT['${django}']`)
}

/** exp present; iat and nbf not in the future (the clocks of the two hosts agree within JWT_LEEWAY). */
function times (payload: Claims, config: Config): Finding[] {
  const findings: Finding[] = []
  if (!isEpoch(payload.exp)) findings.push(mismatch(payload.exp === undefined ? 'the token has no exp claim' : 'exp is not a time'))
  const late = Date.now() / 1000 + config.JWT_LEEWAY
  for (const claim of ['iat', 'nbf']) {
    const value = payload[claim]
    if (value !== undefined && (!isEpoch(value) || value > late)) {
      findings.push(mismatch(isEpoch(value)
        ? `${claim} ${iso(value)} is in the future: this host's clock and Django's differ by more than JWT_LEEWAY`
        : `${claim} is not a time`))
    }
  }
  return findings
}

/** Whether the user the token names is here (imported), active, and not cut off: a note, never a mismatch. */
async function checkUser (config: Config, userId: number, payload: Claims): Promise<Finding> {
  try {
    const user = await withStores(config, stores => stores.users.findById(userId))
    if (user === undefined) return { kind: 'note', text: `no user ${userId} in the database (yet): its tokens are refused until import-django brings it` }
    if (!user.isActive) return { kind: 'note', text: `user ${userId} (${user.username}) is inactive: its tokens are refused` }
    if (isCutOff(payload, user)) return { kind: 'note', text: `user ${userId} (${user.username}) had its tokens revoked (or joined) after this one was issued: it is refused` }
    return ok(`user ${userId} (${user.username}) is in the database and active`)
  } catch (err) {
    if (err instanceof DatabaseError) return { kind: 'note', text: `user ${userId} was not looked up: ${err.message}` }
    throw err
  }
}
