// Issue 15, finding 8: TRUST_PROXY=true believes any client's X-Forwarded-For, so that a client picks
// the address login throttling counts it under (and can get another address locked out). Production
// warns at start; the safe forms, a number of hops and the proxies' addresses or CIDR ranges, are
// accepted and leave a client no say over its address.
import t from 'tap'
import Fastify, { type FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import appPlugin, { serverOptions, TRUST_PROXY_WARNING } from '../../src/app.js'
import { ConfigError, loadConfig, type Config } from '../../src/domain/settings.js'
import { testConfig, testDatabase } from '../helper.js'

const database = await testDatabase(t)

/** The app's start-up log lines, at warn. */
async function startLines (overrides: Partial<Config>): Promise<string[]> {
  const lines: string[] = []
  const config = testConfig({ ...overrides, LOG_LEVEL: 'warn' })
  const server = Fastify({ ...serverOptions(config), logger: { level: 'warn', stream: { write: (line: string) => { lines.push(line) } } } })
  await server.register(fp(appPlugin), { config, database })
  await server.ready()
  await server.close()
  return lines
}

t.test('production with TRUST_PROXY=true: a warning at start names the risk and the safe forms', async t => {
  const lines = await startLines({ PRODUCTION: true, TRUST_PROXY: true })
  const warning = lines.map(line => JSON.parse(line) as { msg: string, level: number, setting?: string }).find(line => line.setting === 'TRUST_PROXY')
  t.ok(warning, 'one line for TRUST_PROXY')
  t.equal(warning?.msg, TRUST_PROXY_WARNING)
  t.equal(warning?.level, 40, 'at warn')
  t.match(warning?.msg, /throttling/)
  t.match(warning?.msg, /number of proxy hops/)
  t.match(warning?.msg, /CIDR/)
})

t.test('no warning for hops, ranges or false, nor outside production', async t => {
  for (const overrides of [{ PRODUCTION: true, TRUST_PROXY: 1 }, { PRODUCTION: true, TRUST_PROXY: ['10.0.0.0/8'] }, { PRODUCTION: true, TRUST_PROXY: false }, { PRODUCTION: false, TRUST_PROXY: true }]) {
    const lines = await startLines(overrides)
    t.notOk(lines.some(line => line.includes('TRUST_PROXY')), JSON.stringify(overrides))
  }
})

t.test('TRUST_PROXY is read as true, false, a number of hops, or a list of addresses and CIDR ranges', async t => {
  t.equal(loadConfig({ TRUST_PROXY: 'true' }).TRUST_PROXY, true)
  t.equal(loadConfig({ TRUST_PROXY: 'false' }).TRUST_PROXY, false)
  t.equal(loadConfig({ TRUST_PROXY: '2' }).TRUST_PROXY, 2)
  t.same(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.7,fd00::/8,loopback' }).TRUST_PROXY, ['10.0.0.0/8', '192.168.1.7', 'fd00::/8', 'loopback'])
  for (const bad of ['yes', '10.0.0.0/33', '10.0.0/8', 'fd00::/129', '10.0.0.0/8/1', '300', 'localhost', '10.0.0.0/8,']) {
    t.match((() => { try { loadConfig({ TRUST_PROXY: bad }) } catch (err) { return err } })(), { constructor: ConfigError, variable: 'TRUST_PROXY' }, bad)
  }
})

/** The address the server takes a request from `remoteAddress`, forwarded for `forwarded`, to be. */
async function clientIp (trustProxy: Config['TRUST_PROXY'], remoteAddress: string, forwarded: string): Promise<string> {
  const server = Fastify(serverOptions(testConfig({ TRUST_PROXY: trustProxy })))
  server.get('/ip', async (request: FastifyRequest) => ({ ip: request.ip }))
  try {
    const res = await server.inject({ method: 'GET', url: '/ip', remoteAddress, headers: { 'x-forwarded-for': forwarded } })
    return (res.json() as { ip: string }).ip
  } finally {
    await server.close()
  }
}

t.test('the client\'s say over its address: all with true, none with hops or ranges', async t => {
  // The client wrote 198.51.100.66 (another address, to get it locked out) itself; the proxy
  // (10.0.0.2) appended what it saw, 203.0.113.9.
  t.equal(await clientIp(true, '10.0.0.2', '198.51.100.66, 203.0.113.9'), '198.51.100.66', 'true: the client chose its address')
  t.equal(await clientIp(1, '10.0.0.2', '198.51.100.66, 203.0.113.9'), '203.0.113.9', 'one hop: what the proxy saw')
  t.equal(await clientIp(['10.0.0.0/8'], '10.0.0.2', '198.51.100.66, 203.0.113.9'), '203.0.113.9', 'the proxy\'s range: what the proxy saw')
  t.equal(await clientIp(['10.0.0.0/8'], '203.0.113.50', '198.51.100.66'), '203.0.113.50', 'a client outside the range is its socket\'s address')
  t.equal(await clientIp(false, '10.0.0.2', '198.51.100.66'), '10.0.0.2', 'false: the socket')
})
