// A TCP proxy the tests control, between the service and PostgreSQL or Redis: the machine's servers
// are never stopped; faults are injected here instead.
//   cut()       every open connection is destroyed (a reset); new ones still pass
//   refuse()    the port closes: new connections are refused, open ones cut
//   blackhole() connections stay open but nothing passes either way (a partition, a hung server)
//   heal()      back to passing bytes (and listening again after refuse())
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'

export type ProxyMode = 'pass' | 'blackhole' | 'refuse'

export interface TcpProxy {
  readonly port: number
  readonly mode: ProxyMode
  /** The connections open through the proxy now. */
  readonly connections: number
  /** `url` with its host replaced by the proxy's. */
  url: (url: string) => string
  cut: () => void
  refuse: () => Promise<void>
  blackhole: () => void
  heal: () => Promise<void>
  close: () => Promise<void>
}

interface Pair { client: Socket, upstream: Socket }

export async function startTcpProxy (target: { host: string, port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>()
  let mode: ProxyMode = 'pass'

  const server = createServer((client) => {
    const upstream = connect(target.port, target.host)
    const pair = { client, upstream }
    pairs.add(pair)
    const end = () => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    for (const socket of [client, upstream]) {
      socket.on('error', end)
      socket.on('close', end)
    }
    // Bytes pass only in 'pass' mode; in 'blackhole' they are read and dropped, so that neither
    // side sees an error or a close: the other end simply never answers.
    client.on('data', (chunk: Buffer) => { if (mode === 'pass') upstream.write(chunk) })
    upstream.on('data', (chunk: Buffer) => { if (mode === 'pass') client.write(chunk) })
  })
  server.on('error', () => {})
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port

  const cut = () => {
    for (const { client, upstream } of pairs) {
      client.resetAndDestroy()
      upstream.destroy()
    }
    pairs.clear()
  }
  const listen = () => new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve() })
  })
  const stopListening = () => new Promise<void>(resolve => server.listening ? server.close(() => resolve()) : resolve())

  return {
    port,
    get mode () { return mode },
    get connections () { return pairs.size },
    url (url: string) {
      const parsed = new URL(url)
      parsed.host = `127.0.0.1:${port}`
      return parsed.toString()
    },
    cut,
    async refuse () {
      mode = 'refuse'
      const closed = stopListening()
      cut()
      await closed
    },
    blackhole () { mode = 'blackhole' },
    async heal () {
      if (mode === 'refuse') await listen()
      mode = 'pass'
    },
    async close () {
      mode = 'refuse'
      const closed = stopListening()
      cut()
      await closed
    }
  }
}
