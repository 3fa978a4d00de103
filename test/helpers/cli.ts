// The command line run in-process, as a test sees it: the exit code and everything written to stdout and stderr.
import { PassThrough } from 'node:stream'
import { finished } from 'node:stream/promises'
import { runCli, type CliIo } from '../../src/cli.js'

export interface CliRun { code: number, stdout: string, stderr: string }

/** Runs one command with `env`; `stdin` is piped in (and ended) when given. */
export async function runCommand (env: Record<string, string | undefined>, argv: string[], stdin?: string): Promise<CliRun> {
  const input = new PassThrough()
  if (stdin !== undefined) input.end(stdin)
  const out = { stdout: '', stderr: '' }
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  stdout.on('data', (chunk: Buffer) => { out.stdout += chunk.toString('utf8') })
  stderr.on('data', (chunk: Buffer) => { out.stderr += chunk.toString('utf8') })
  const io: CliIo = { env: { ...env }, stdin: input, stdout, stderr }
  const code = await runCli(argv, io)
  stdout.end()
  stderr.end()
  await Promise.all([finished(stdout), finished(stderr)])
  return { code, ...out }
}

/** runCommand over one environment: `cli(argv, stdin?)`. */
export function cliRunner (env: Record<string, string | undefined>) {
  return (argv: string[], stdin?: string) => runCommand(env, argv, stdin)
}
export type Run = CliRun
