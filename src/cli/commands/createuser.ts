// `createuser USERNAME [--first-name …] [--staff] [--superuser] [--inactive] [--password-stdin]` (Django's createsuperuser)
import { loadConfig } from '../../domain/settings.js'
import { checkUsername, readNewPassword, type Command } from '../io.js'
import { withStores } from '../stores.js'

export const createuser: Command = async (args, options, io) => {
  const config = loadConfig(io.env, { signs: false })
  const username = checkUsername(args[0])
  // Asked for before the database is opened: a prompt must not hold it open.
  const password = await readNewPassword(io, options['password-stdin'] === true)
  const user = await withStores(config, ({ accounts }) => accounts.create({
    username,
    password,
    firstName: options['first-name'] ?? '',
    lastName: options['last-name'] ?? '',
    email: options.email ?? '',
    isStaff: options.staff === true || options.superuser === true,
    isSuperuser: options.superuser === true,
    isActive: options.inactive !== true
  }))
  io.stdout.write(`Created user ${JSON.stringify(user.username)} with id ${user.id}.\n`)
  return 0
}
