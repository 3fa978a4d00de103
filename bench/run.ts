// `npm run bench`: every scenario alternated with the bare-Fastify baseline in the same run, so that
// ratios hold on a noisy machine; prints a table and writes bench/RESULTS.md.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import autocannon, { type Result } from 'autocannon'
import { createBenchUser, KEY, post, rssMb, start, stop, type Child } from './lib.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3)
const CONNECTIONS = 10
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'postgres,pglite').split(',')

type Options = Parameters<typeof autocannon>[0]
async function load (options: Options): Promise<Result> {
  return autocannon({ connections: CONNECTIONS, duration: SECONDS, ...options })
}

interface Row { scenario: string, rps: number, p50: number, p99: number, ratio: number, postRatio?: number }

async function backend (name: string, bare: Child): Promise<{ rows: Row[], coldStartMs: number, idleRssMb: number, login: { busyP99: number, idleP99: number, ratio: number } }> {
  const username = `bench-${process.pid}-${name}`
  const common: Record<string, string> = { JWT_SIGNING_KEY: KEY, LOG_LEVEL: 'warn', LOGIN_THROTTLE_USERNAME: 'off', LOGIN_THROTTLE_IP: 'off', REFRESH_THROTTLE: 'off', LOGIN_QUEUE_PER_CLIENT: '64', LOGIN_QUEUE_SIZE: '64' }
  // PostgreSQL is shared by both servers; PGlite allows one process per data directory, so each
  // server gets a directory of its own, with the user created in it before the server starts.
  const databaseFor = async (): Promise<Record<string, string>> => {
    if (name === 'postgres') return { DATABASE_URL: PG_URL }
    return { DATA_DIR: mkdtempSync(join(tmpdir(), 'fsj-bench-')) }
  }
  const plainEnv = { ...common, ...await databaseFor() }
  const rotatingEnv = { ...common, ...await databaseFor(), ROTATE_REFRESH_TOKENS: 'true' }
  await createBenchUser(plainEnv, username)
  if (name !== 'postgres') await createBenchUser(rotatingEnv, username)

  const plain = await start(['dist/src/server.js'], plainEnv, '/health/live')
  const rotating = await start(['dist/src/server.js'], rotatingEnv, '/health/live')
  // Idle: a few seconds after start, once start-up's garbage has had a chance to go.
  await sleep(3000)
  const idleRssMb = rssMb(plain)

  const pair = await post(plain.origin, '/api/token/', { username, password: 'underoos' })
  if (pair.access === undefined) throw new Error(`login failed on ${name}: ${JSON.stringify(pair)}`)
  const rotatingPair = await post(rotating.origin, '/api/token/', { username, password: 'underoos' })

  const json = { 'content-type': 'application/json' }
  const scenarios: Array<[string, () => Options]> = [
    ['GET /api/hello/', () => ({ url: `${plain.origin}/api/hello/`, headers: { authorization: `Bearer ${pair.access}` } })],
    ['POST /api/token/verify/', () => ({ url: `${plain.origin}/api/token/verify/`, method: 'POST', headers: json, body: JSON.stringify({ token: pair.access }) })],
    ['POST /api/token/refresh/ (no rotation)', () => ({ url: `${plain.origin}/api/token/refresh/`, method: 'POST', headers: json, body: JSON.stringify({ refresh: pair.refresh }) })],
    // Rotation without the blacklist keeps the presented token valid, so one token can be replayed:
    // this measures minting and recording the next refresh token on every request.
    ['POST /api/token/refresh/ (rotation)', () => ({ url: `${rotating.origin}/api/token/refresh/`, method: 'POST', headers: json, body: JSON.stringify({ refresh: rotatingPair.refresh }) })],
    ['POST /api/token/ (argon2id)', () => ({ url: `${plain.origin}/api/token/`, method: 'POST', headers: json, body: JSON.stringify({ username, password: 'underoos' }) })]
  ]

  const rows: Row[] = []
  for (const [scenario, options] of scenarios) {
    const ratios: number[] = []
    const postRatios: number[] = []
    let last: Result | undefined
    for (let round = 0; round < ROUNDS; round++) {
      const base = await load({ url: `${bare.origin}/bare` })
      last = await load(options())
      if (last.non2xx > 0) process.stderr.write(`${scenario}: ${last.non2xx} non-2xx answers\n`)
      ratios.push(last.requests.average / base.requests.average)
      // A POST scenario is also compared with a bare POST route given the same body.
      const { method, body, headers } = options()
      if (method === 'POST') {
        const postBase = await load({ url: `${bare.origin}/bare`, method, body, headers })
        postRatios.push(last.requests.average / postBase.requests.average)
      }
    }
    const result = last as Result
    const postRatio = postRatios.length > 0 ? median(postRatios) : undefined
    rows.push({ scenario, rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, ratio: median(ratios), postRatio })
    process.stderr.write(`${name}: ${scenario} ratio ${median(ratios).toFixed(2)}${postRatio === undefined ? '' : ` (${postRatio.toFixed(2)} of a bare POST)`}\n`)
  }

  // Hello while 20 logins run: hashing must not block the event loop.
  const helloIdle = await load({ url: `${plain.origin}/api/hello/`, headers: { authorization: `Bearer ${pair.access}` }, connections: 2 })
  const logins = load({ url: `${plain.origin}/api/token/`, method: 'POST', headers: json, body: JSON.stringify({ username, password: 'underoos' }), connections: 20 })
  const helloBusy = await load({ url: `${plain.origin}/api/hello/`, headers: { authorization: `Bearer ${pair.access}` }, connections: 2 })
  await logins
  // autocannon resolves latency to 1 ms: a p99 under it counts as 1 ms on both sides.
  const login = { busyP99: helloBusy.latency.p99, idleP99: helloIdle.latency.p99, ratio: Math.max(helloBusy.latency.p99, 1) / Math.max(helloIdle.latency.p99, 1) }
  rows.push({ scenario: 'GET /api/hello/ while 20 logins run', rps: helloBusy.requests.average, p50: helloBusy.latency.p50, p99: helloBusy.latency.p99, ratio: NaN })

  const coldStartMs = plain.startedMs
  await stop(plain)
  await stop(rotating)
  return { rows, coldStartMs, idleRssMb, login }
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

const bare = await start(['--import', 'tsx', 'bench/bare.ts'], {}, '/bare')
const sections: string[] = []
for (const name of BACKENDS) {
  const result = await backend(name, bare)
  const table = [
    '| scenario | req/s | p50 ms | p99 ms | ratio to bare Fastify (GET) | ratio to bare Fastify (POST, same body) |',
    '|---|---:|---:|---:|---:|---:|',
    ...result.rows.map(r => `| ${r.scenario} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${Number.isNaN(r.ratio) ? '—' : r.ratio.toFixed(2)} | ${r.postRatio === undefined ? '—' : r.postRatio.toFixed(2)} |`)
  ]
  sections.push([
    `### ${name === 'postgres' ? 'PostgreSQL' : 'PGlite (embedded)'}`, '', ...table, '',
    `- hello p99 while 20 logins run: ${result.login.busyP99} ms against ${result.login.idleP99} ms idle, ${result.login.ratio.toFixed(2)} × (a p99 under autocannon's 1 ms resolution counts as 1 ms)`,
    `- cold start to the first answer: ${Math.round(result.coldStartMs)} ms`,
    `- idle RSS: ${result.idleRssMb.toFixed(0)} MB`, ''
  ].join('\n'))
  process.stdout.write(`\n${sections.at(-1)}\n`)
}
await stop(bare)

const versions = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> }
const markdown = [
  '# Benchmark results', '',
  `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench\` on ${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; fastify ${versions.dependencies.fastify}, @fastify/jwt ${versions.dependencies['@fastify/jwt']}, drizzle-orm ${versions.dependencies['drizzle-orm']}, postgres ${versions.dependencies.postgres}.`,
  `Each scenario ran ${ROUNDS} × ${SECONDS} s with ${CONNECTIONS} connections (autocannon), each time right after the bare-Fastify baseline (a GET JSON route) and, for POST scenarios, also compared with a bare POST route given the same body; a ratio is the median of the rounds' req/s ratios. The server and autocannon share the machine's cores.`, '',
  ...sections
].join('\n')
writeFileSync('bench/RESULTS.md', markdown)
process.stdout.write('\nwrote bench/RESULTS.md\n')
