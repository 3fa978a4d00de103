// `setactive USERNAME true|false`; deactivating revokes every token of the user
import { loadConfig } from '../../domain/settings.js'
import { checkUsername, CliError, type Command } from '../io.js'
import { withStores } from '../stores.js'

export const setactive: Command = async (args, _options, io) => {
  const config = loadConfig(io.env, { signs: false })
  const username = checkUsername(args[0])
  if (args[1] !== 'true' && args[1] !== 'false') throw new CliError('setactive needs true or false after the USERNAME', 2)
  const isActive = args[1] === 'true'
  await withStores(config, async ({ users, accounts }) => {
    const user = await users.findByUsername(username)
    if (user === undefined || await accounts.update(user.id, { isActive }) === undefined) throw new CliError(`no user named ${JSON.stringify(username)}`)
  })
  io.stdout.write(`User ${JSON.stringify(username)} is now ${isActive ? 'active' : 'inactive'}.\n`)
  return 0
}
