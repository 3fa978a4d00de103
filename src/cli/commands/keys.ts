// `keys generate --algorithm ALG`: a new key, printed in the forms the settings take. Needs no database.
import { ALGORITHMS, generateKey, isAlgorithm, loadKeySet } from '../../domain/keys.js'
import { CliError, usageError, type Command } from '../io.js'

export const keys: Command = (args, options, io) => {
  if (args[0] !== 'generate' || args.length !== 1) throw usageError('keys needs the subcommand generate')
  const algorithm = options.algorithm
  if (!isAlgorithm(algorithm)) throw new CliError(`--algorithm must be one of ${ALGORITHMS.join(', ')}`, 2)
  const key = generateKey(algorithm)
  const lines = [`# JWT_ALGORITHM=${algorithm}`, `# kid: ${key.kid}`]
  if (key.verifyingKey === undefined) {
    lines.push('# JWT_SIGNING_KEY (a shared secret: keep it secret):', key.signingKey)
  } else {
    const jwk = loadKeySet({ alg: algorithm, signingKey: key.signingKey, production: true }).current.jwk
    lines.push(
      '# JWT_SIGNING_KEY (private: keep it secret):', key.signingKey.trimEnd(),
      '# JWT_VERIFYING_KEY (public; optional, derived from the signing key when unset):', key.verifyingKey.trimEnd(),
      '# the public JWK, for JWT_PREVIOUS_VERIFYING_KEYS once this key is retired:', JSON.stringify(jwk))
  }
  io.stdout.write(lines.join('\n') + '\n')
  return 0
}
