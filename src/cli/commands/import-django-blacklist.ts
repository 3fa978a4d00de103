// `import-django-blacklist FILE [--dry-run]`: the tokens Django's token_blacklist app refuses are refused
// here too, so that a refresh token logged out (or rotated away) in Django cannot be used after the move.
import { loadConfig } from '../../domain/settings.js'
import { parseBlacklistDump } from '../../domain/dumpdata.js'
import { plural, readInput, usageError, type Command } from '../io.js'
import { withStores } from '../stores.js'

export const importDjangoBlacklist: Command = async (args, options, io) => {
  if (args.length !== 1) throw usageError('import-django-blacklist needs one FILE (- for standard input)')
  const dryRun = options['dry-run'] === true
  const config = loadConfig(io.env)
  const tokens = parseBlacklistDump(await readInput(args[0], io))
  const result = await withStores(config, stores => stores.tokens.importDjango(tokens, new Date(), dryRun))
  const counts = `${plural(result.imported, 'token')} blacklisted; ${result.expired} already expired, ${result.present} already blacklisted here`
  io.stdout.write(dryRun ? `Dry run: would have ${counts}; nothing was written.\n` : `Imported from Django: ${counts}.\n`)
  return 0
}
