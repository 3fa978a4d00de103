// `listusers`: every user as a table
import { loadConfig } from '../../domain/settings.js'
import { table, type Command } from '../io.js'
import { withStores } from '../stores.js'

export const listusers: Command = async (_args, _options, io) => {
  const users = await withStores(loadConfig(io.env, { signs: false }), stores => stores.users.list())
  const rows = users.map(u => [
    String(u.id), u.username, `${u.firstName} ${u.lastName}`.trim(), u.email,
    u.isActive ? 'yes' : 'no', u.isStaff ? 'yes' : 'no', u.isSuperuser ? 'yes' : 'no',
    u.lastLogin?.toISOString() ?? '-'
  ])
  io.stdout.write(table([['ID', 'USERNAME', 'NAME', 'EMAIL', 'ACTIVE', 'STAFF', 'SUPERUSER', 'LAST LOGIN'], ...rows]))
  return 0
}
