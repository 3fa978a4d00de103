// The command line run in-process, as tests drive it: argv in, exit code and output out.
import { PassThrough } from 'node:stream'
import { finished } from 'node:stream/promises'
import { runCli, type CliIo } from '../../src/cli.js'

export interface CliRun { code: number, stdout: string, stderr: string }

/** A runner over one environment; `stdin` is piped in (and ended) when given. */
export function cliRunner (env: Record<string, string>) {
  return async function cli (argv: string[], stdin?: string): Promise<CliRun> {
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
}
