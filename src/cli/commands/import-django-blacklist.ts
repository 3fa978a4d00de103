// `import-django-blacklist FILE [--dry-run]`: the tokens Django's token_blacklist app refuses are refused
// here too, so that a refresh token logged out (or rotated away) in Django cannot be used after the move;
// and no user created here takes an id the dump's tokens name.
import { loadConfig } from '../../domain/settings.js'
import { readBlacklistDump } from '../../domain/dumpdata.js'
import { plural, readInput, usageError, type Command } from '../io.js'
import { withStores } from '../stores.js'

export const importDjangoBlacklist: Command = async (args, options, io) => {
  if (args.length !== 1) throw usageError('import-django-blacklist needs one FILE (- for standard input)')
  const dryRun = options['dry-run'] === true
  const config = loadConfig(io.env, { signs: false })
  const { tokens, largestUserId } = readBlacklistDump(await readInput(args[0], io))
  const result = await withStores(config, async stores => {
    const imported = await stores.tokens.importDjango(tokens, new Date(), dryRun)
    // Django never reuses an id: the largest one its tokens name (a user it may have deleted) is
    // never handed out here, so that user's tokens can never name a new user.
    if (!dryRun) await stores.users.raiseIdFloor(largestUserId)
    return imported
  })
  const counts = `${plural(result.imported, 'token')} blacklisted; ${result.expired} already expired, ${result.present} already blacklisted here`
  io.stdout.write(dryRun ? `Dry run: would have ${counts}; nothing was written.\n` : `Imported from Django: ${counts}.\n`)
  return 0
}
