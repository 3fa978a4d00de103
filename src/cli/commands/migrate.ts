// `migrate`: apply pending migrations (Django's migrate), whatever MIGRATE_ON_START says
import { loadConfig } from '../../domain/settings.js'
import type { Command } from '../io.js'
import { withStores } from '../stores.js'

export const migrate: Command = async (_args, _options, io) => {
  await withStores(loadConfig(io.env, { signs: false }), async () => {}, { migrate: true })
  io.stdout.write('Migrations applied.\n')
  return 0
}
