// Process entry: configuration from the environment, the app, listen, graceful close
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import closeWithGrace from 'close-with-grace'
import app, { serverOptions } from './app.js'
import { ConfigError, loadConfig, type Config } from './domain/settings.js'
import { DatabaseError } from './db/client.js'
import { redactQueryParameters } from './db/redact.js'

/** Ends the process with one line on stderr, no stack trace: for problems an operator must fix. */
function die (message: string): never {
  process.stderr.write(`fastify-simplejwt: ${message}\n`)
  process.exit(1)
}

let config: Config
try {
  config = loadConfig(process.env)
} catch (err) {
  if (err instanceof ConfigError) die(`invalid configuration: ${err.message}`)
  throw err
}

const server = Fastify(serverOptions(config))
try {
  await server.register(fp(app), { config })
  await server.ready()
} catch (err) {
  if (err instanceof DatabaseError || err instanceof ConfigError) die(err.message)
  throw err
}

closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
  if (err !== undefined) server.log.error({ err: redactQueryParameters(err) }, 'closing after an uncaught error')
  else server.log.info({ signal }, 'closing')
  await server.close()
})

try {
  await server.listen({ host: config.HOST, port: config.PORT })
} catch (err) {
  die(`cannot listen on ${config.HOST}:${config.PORT} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
}
