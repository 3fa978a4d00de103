// The app's own OpenAPI document, built in-process (no server, no listening socket): for the SDK and the linter
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { pathToFileURL } from 'node:url'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import app, { serverOptions } from '../src/app.js'
import { loadConfig } from '../src/domain/settings.js'

/**
 * The settings the document is built with. Fixed, never read from the environment, so that the
 * document (and the client generated from it) is the same on every machine. A throwaway in-memory
 * database; a fixed key, so no key is generated and no warning is logged.
 */
const DOCUMENT_ENV = {
  DATABASE_URL: 'memory://',
  JWT_SIGNING_KEY: 'openapi-document-only-0123456789abcdef-0123456789abcdef',
  LOG_LEVEL: 'silent',
  LOGIN_THROTTLE_USERNAME: 'off',
  LOGIN_THROTTLE_IP: 'off'
}

/** Builds the app as src/server.ts does, reads `fastify.swagger()`, and closes it again. */
export async function openApiDocument (): Promise<Record<string, unknown>> {
  const config = loadConfig(DOCUMENT_ENV)
  const server = Fastify(serverOptions(config))
  try {
    await server.register(fp(app), { config })
    await server.ready()
    // A deep copy: plain JSON, detached from the schemas the routes still hold.
    return JSON.parse(JSON.stringify(server.swagger()))
  } finally {
    await server.close()
  }
}

/** The document as it is committed and served: two-space JSON with a final newline. */
export function documentText (document: unknown): string {
  return `${JSON.stringify(document, null, 2)}\n`
}

/** Runs `redocly lint` (recommended rules, see redocly.yaml) on the document; returns its exit status. */
export function lintDocument (document: unknown): number {
  const dir = mkdtempSync(join(tmpdir(), 'fsj-openapi-'))
  try {
    const file = join(dir, 'openapi.json')
    writeFileSync(file, documentText(document))
    const result = spawnSync(join('node_modules', '.bin', 'redocly'), ['lint', file, '--config', 'redocly.yaml'], {
      stdio: 'inherit',
      // No telemetry and no update check: CI reaches no host but the registries.
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' }
    })
    return result.status ?? 1
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const USAGE = 'usage: tsx scripts/openapi.ts [--out FILE | --lint]'

async function main (args: string[]): Promise<number> {
  const document = await openApiDocument()
  if (args.length === 0) {
    process.stdout.write(documentText(document))
    return 0
  }
  if (args[0] === '--lint' && args.length === 1) return lintDocument(document)
  if (args[0] === '--out' && args.length === 2) {
    writeFileSync(args[1], documentText(document))
    return 0
  }
  process.stderr.write(`${USAGE}\n`)
  return 2
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2))
}
