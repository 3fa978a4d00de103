// An application started as its own process (node SCRIPT in its folder), for the tests of the
// installed package: it is found listening by its "Server listening at" log line, and stopped at
// the test's end.
import { spawn } from 'node:child_process'
import type { TestLike } from '../helper.js'

export interface SpawnedApp {
  /** http://127.0.0.1:PORT, or undefined when it did not start within the bound. */
  base: string | undefined
  /** Everything it wrote on stdout and stderr so far. */
  output: () => string
}

export async function spawnApp (t: TestLike, cwd: string, script: string, env: Record<string, string>, startupMs = 60_000): Promise<SpawnedApp> {
  const child = spawn(process.execPath, [script], { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise(resolve => child.once('exit', resolve))
  t.teardown(async () => {
    if (child.exitCode === null) child.kill('SIGTERM')
    await exited
  })
  const deadline = Date.now() + startupMs
  let base: string | undefined
  while (base === undefined && Date.now() < deadline && child.exitCode === null) {
    base = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1]
    if (base === undefined) await new Promise(resolve => setTimeout(resolve, 100))
  }
  return { base, output: () => output }
}
