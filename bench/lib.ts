// What bench/run.ts and bench/profile.ts share: the service and the bare baseline as child
// processes, and the bench user created through the CLI as an operator would.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

export const KEY = 'bench-signing-key-0123456789abcdef-0123456789abcdef-0123456789abcdef'

export async function freePort (): Promise<number> {
  return new Promise(resolve => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export interface Child { process: ChildProcess, origin: string, startedMs: number }

export async function start (args: string[], env: Record<string, string>, probe: string): Promise<Child> {
  const port = await freePort()
  const began = performance.now()
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] })
  const origin = `http://127.0.0.1:${port}`
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited with ${child.exitCode}`)
    try {
      const res = await fetch(origin + probe)
      if (res.status < 500) return { process: child, origin, startedMs: performance.now() - began }
    } catch {}
    await sleep(20)
  }
}

export async function stop (child: Child): Promise<void> {
  const exited = new Promise(resolve => child.process.once('exit', resolve))
  child.process.kill('SIGTERM')
  await exited
}

export function rssMb (child: Child): number {
  const status = readFileSync(`/proc/${child.process.pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024
}

export async function post (origin: string, path: string, body: unknown): Promise<Record<string, string>> {
  const res = await fetch(origin + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return await res.json() as Record<string, string>
}

/** Creates the bench user through the CLI, as an operator would, in the database `env` names. */
export async function createBenchUser (env: Record<string, string>, username: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const cli = spawn(process.execPath, ['dist/src/cli.js', 'createuser', username, '--first-name', 'Peter', '--last-name', 'Parker', '--password-stdin'],
      { env: { ...process.env, ...env }, stdio: ['pipe', 'ignore', 'inherit'] })
    cli.stdin?.end('underoos\n')
    cli.on('exit', code => code === 0 ? resolve() : reject(new Error(`createuser exited with ${code}`)))
  })
}
