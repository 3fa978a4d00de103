// `npm run bench:profile`: where a request's time goes. Runs the service under `node --cpu-prof`
// while autocannon drives one scenario, then writes bench/PROFILE.md: the share of the server's
// samples by kind (idle, the kernel's socket writes, the service's own code, its dependencies,
// Node itself) and the functions with the most self time.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { createBenchUser, KEY, post, start, stop } from './lib.js'

const SECONDS = Number(process.env.PROFILE_SECONDS ?? 5)
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const ROOT = process.cwd()

interface ProfileNode { id: number, callFrame: { functionName: string, url: string, lineNumber: number } }
interface CpuProfile { nodes: ProfileNode[], samples: number[] }

/** Where a sample's function lives. */
function kindOf (url: string, name: string): string {
  if (name === '(idle)') return 'idle (waiting for the network)'
  if (name === '(garbage collector)') return 'garbage collection'
  if (name === 'writev' || name === 'writeUtf8String' || name === 'writeBuffer') return 'socket writes (kernel)'
  if (url.includes('/node_modules/')) return 'dependencies (fastify, fast-jwt, pino, postgres.js, …)'
  if (url.startsWith(`file://${ROOT}`) || url.startsWith(ROOT)) return 'the service\'s own code'
  return 'Node.js internals and native code'
}

function where (url: string, line: number): string {
  const short = url.replace(`file://${ROOT}/`, '').replace(/^.*node_modules\//, '')
  return short === '' ? '' : `${short}:${line + 1}`
}

function summarise (profile: CpuProfile, top: number): string[] {
  const byId = new Map(profile.nodes.map(node => [node.id, node]))
  const kinds = new Map<string, number>()
  const functions = new Map<string, number>()
  for (const id of profile.samples) {
    const { functionName, url, lineNumber } = (byId.get(id) as ProfileNode).callFrame
    const kind = kindOf(url, functionName)
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1)
    if (!kind.startsWith('idle')) {
      const key = `\`${functionName === '' ? '(anonymous)' : functionName}\` ${where(url, lineNumber)}`
      functions.set(key, (functions.get(key) ?? 0) + 1)
    }
  }
  const total = profile.samples.length
  const share = (count: number) => `${(100 * count / total).toFixed(1)} %`
  const sorted = (map: Map<string, number>) => [...map.entries()].sort((a, b) => b[1] - a[1])
  return [
    '| where the server\'s time went | share |', '|---|---:|',
    ...sorted(kinds).map(([kind, count]) => `| ${kind} | ${share(count)} |`), '',
    `| the ${top} functions with the most self time | share |`, '|---|---:|',
    ...sorted(functions).slice(0, top).map(([name, count]) => `| ${name} | ${share(count)} |`), ''
  ]
}

const username = `profile-${process.pid}`
const env = { JWT_SIGNING_KEY: KEY, LOG_LEVEL: 'warn', LOGIN_THROTTLE_USERNAME: 'off', LOGIN_THROTTLE_IP: 'off', REFRESH_THROTTLE: 'off', LOGIN_QUEUE_PER_CLIENT: '64', LOGIN_QUEUE_SIZE: '64', DATABASE_URL: PG_URL }
await createBenchUser(env, username)

const json = { 'content-type': 'application/json' }
const scenarios: Array<[string, (pair: Record<string, string>) => Parameters<typeof autocannon>[0]]> = [
  ['GET /api/hello/', pair => ({ url: '/api/hello/', headers: { authorization: `Bearer ${pair.access}` } })],
  ['POST /api/token/verify/', pair => ({ url: '/api/token/verify/', method: 'POST', headers: json, body: JSON.stringify({ token: pair.access }) })],
  ['POST /api/token/refresh/ (no rotation)', pair => ({ url: '/api/token/refresh/', method: 'POST', headers: json, body: JSON.stringify({ refresh: pair.refresh }) })]
]

const sections: string[] = []
for (const [scenario, options] of scenarios) {
  const dir = mkdtempSync(join(tmpdir(), 'fsj-profile-'))
  const server = await start(['--cpu-prof', `--cpu-prof-dir=${dir}`, 'dist/src/server.js'], env, '/health/live')
  const pair = await post(server.origin, '/api/token/', { username, password: 'underoos' })
  const { url, ...rest } = options(pair)
  const result = await autocannon({ connections: 10, duration: SECONDS, ...rest, url: server.origin + url })
  await stop(server)
  const file = readdirSync(dir).find(name => name.endsWith('.cpuprofile'))
  if (file === undefined) throw new Error(`no profile was written for ${scenario}`)
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile
  sections.push(`### ${scenario}`, '', `${Math.round(result.requests.average)} req/s while profiled (${SECONDS} s, 10 connections).`, '', ...summarise(profile, 15))
  process.stderr.write(`profiled ${scenario}\n`)
}

const markdown = [
  '# Where the time goes', '',
  `Recorded ${new Date().toISOString().slice(0, 10)} with \`npm run bench:profile\` on ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}, PostgreSQL: the service under \`node --cpu-prof\`, driven by autocannon on the same machine. Shares are of the server process's samples; idle means it was waiting for the network (autocannon holds the other core).`, '',
  ...sections
].join('\n')
writeFileSync('bench/PROFILE.md', markdown)
process.stdout.write(`${markdown}\nwrote bench/PROFILE.md\n`)
