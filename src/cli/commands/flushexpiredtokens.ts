// `flushexpiredtokens`: delete what has expired (simplejwt's command of the same name)
import { loadConfig } from '../../domain/settings.js'
import type { Command } from '../io.js'
import { withStores } from '../stores.js'

export const flushexpiredtokens: Command = async (_args, _options, io) => {
  const gone = await withStores(loadConfig(io.env, { signs: false }), ({ tokens }) => tokens.flushExpired(new Date()))
  io.stdout.write(`Deleted ${gone.outstanding} outstanding and ${gone.blacklisted} blacklisted tokens, and ${gone.families} revoked families, all expired.\n`)
  return 0
}
