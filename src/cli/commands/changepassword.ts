// `changepassword USERNAME [--password-stdin]` (Django's changepassword); revokes every token of the user
import { loadConfig } from '../../domain/settings.js'
import { checkUsername, CliError, readNewPassword, type Command } from '../io.js'
import { withStores } from '../stores.js'

export const changepassword: Command = async (args, options, io) => {
  const config = loadConfig(io.env, { signs: false })
  const username = checkUsername(args[0])
  const password = await readNewPassword(io, options['password-stdin'] === true)
  await withStores(config, async ({ users, accounts }) => {
    const user = await users.findByUsername(username)
    // As Django's update_session_auth_hash would not: every token from the old password dies.
    if (user === undefined || await accounts.setPassword(user.id, password) === undefined) throw new CliError(`no user named ${JSON.stringify(username)}`)
  })
  io.stdout.write(`Password changed for user ${JSON.stringify(username)}; their earlier tokens are revoked.\n`)
  return 0
}
