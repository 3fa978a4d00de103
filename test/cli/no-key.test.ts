// Issue 17, item 5: the import and the other commands sign nothing, so production does not ask them for
// JWT_SIGNING_KEY (loadConfig(env, { signs: false })); the server still refuses to start without one.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../src/domain/settings.js'
import { cliDatabase } from '../helper.js'
import { runCommand } from '../helpers/cli.js'

const scratch = await mkdtemp(join(tmpdir(), 'fsj-no-key-'))
t.teardown(() => rm(scratch, { recursive: true, force: true }))
const { env } = await cliDatabase(t, join(scratch, 'data'))
const production = { ...env, NODE_ENV: 'production' }
const cli = (argv: string[], stdin?: string) => runCommand(production, argv, stdin)

async function dumpFile (name: string, records: unknown[]): Promise<string> {
  const path = join(scratch, name)
  await writeFile(path, JSON.stringify(records))
  return path
}

t.test('NODE_ENV=production without JWT_SIGNING_KEY: the server refuses to start', async t => {
  t.throws(() => loadConfig(production), { name: 'ConfigError', message: 'JWT_SIGNING_KEY: is required when NODE_ENV=production (or set JWT_SIGNING_KEY_FILE)' })
})

t.test('NODE_ENV=production without JWT_SIGNING_KEY: the commands that sign nothing run', async t => {
  t.same(await cli(['migrate']), { code: 0, stdout: 'Migrations applied.\n', stderr: '' })
  t.same((await cli(['createuser', 'no-key', '--password-stdin'], 'a long enough password\n')).code, 0)
  t.same((await cli(['changepassword', 'no-key', '--password-stdin'], 'another long password\n')).code, 0)
  t.same((await cli(['setactive', 'no-key', 'false'])).code, 0)
  t.match(await cli(['listusers']), { code: 0, stdout: /no-key/, stderr: '' })
  t.same((await cli(['flushexpiredtokens'])).code, 0)
  const now = Math.floor(Date.now() / 1000)
  const iso = (seconds: number) => new Date(seconds * 1000).toISOString()
  const blacklist = await dumpFile('blacklist.json', [
    { model: 'token_blacklist.outstandingtoken', pk: 1, fields: { user: 1, jti: 'a'.repeat(32), token: 'x', created_at: iso(now - 60), expires_at: iso(now + 3600) } },
    { model: 'token_blacklist.blacklistedtoken', pk: 1, fields: { token: 1, blacklisted_at: iso(now - 30) } }
  ])
  t.same(await cli(['import-django-blacklist', blacklist]), { code: 0, stdout: 'Imported from Django: 1 token blacklisted; 0 already expired, 0 already blacklisted here.\n', stderr: '' })
  t.match(await cli(['import-django-blacklist', blacklist], undefined), { code: 0 }, 'again')
})

t.test('NODE_ENV=production without JWT_SIGNING_KEY: import-django runs', async t => {
  const users = await dumpFile('users.json', [
    { model: 'auth.user', pk: 42, fields: { password: 'pbkdf2_sha256$870000$salt$hash', last_login: null, is_superuser: false, username: 'from-django', first_name: '', last_name: '', email: '', is_staff: false, is_active: true, date_joined: '2020-01-01T00:00:00Z', groups: [], user_permissions: [] } }
  ])
  t.match(await cli(['import-django', users]), { code: 0, stderr: '' })
  t.match(await cli(['import-django', users, '--sync', '--dry-run']), { code: 0, stderr: '' }, 'and its final sync')
  t.match(await cli(['export-django']), { code: 0, stdout: /"username": "from-django"/ }, 'and the way back')
})
