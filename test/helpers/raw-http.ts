// A raw HTTP/1.1 client over a plain socket, for what fetch and inject cannot do: send a request
// slowly, stop half-way, send garbage, and see exactly what the server writes and when it closes.
import { connect, type Socket } from 'node:net'

export interface RawAnswer {
  /** The status of the first answer, undefined when none came. */
  status?: number
  headers: Record<string, string>
  body: string
  /** The socket error seen, if any (ECONNRESET, EPIPE...). */
  error?: string
  /** From connect until the server closed the connection (or `within` passed). */
  ms: number
  /** False when `within` passed with the connection still open. */
  closed: boolean
}

/** Splits what a server wrote into the first answer's status, headers and body. */
export function parseAnswer (text: string): Pick<RawAnswer, 'status' | 'headers' | 'body'> {
  const end = text.indexOf('\r\n\r\n')
  if (!text.startsWith('HTTP/1.1 ') || end === -1) return { headers: {}, body: text }
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  const length = Number(headers['content-length'])
  const rest = text.slice(end + 4)
  return { status: Number(statusLine.split(' ')[1]), headers, body: Number.isNaN(length) ? rest : rest.slice(0, length) }
}

export interface RawOptions {
  /** The request head, without its blank line: `POST /x HTTP/1.1\r\nhost: x\r\n...`. */
  head: string
  /** Body pieces sent one after another, each `every` ms after the previous. */
  body?: Array<string | Buffer>
  every?: number
  /** Destroys the socket after sending the head and body, instead of waiting for an answer. */
  abort?: boolean
  /** The wait for the server to answer and close; then the answer so far, `closed: false`. */
  within?: number
  /** Sends the head in pieces of this many bytes, `every` ms apart (a slow client's headers). */
  headChunk?: number
  /** Goes on sending after the server's FIN, as a browser uploading a body does (and then reads). */
  halfOpen?: boolean
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

/** Sends one request as told and collects what comes back until the server closes (or `within`). */
export async function rawRequest (port: number, options: RawOptions): Promise<RawAnswer> {
  const started = Date.now()
  const socket: Socket = connect({ port, host: '127.0.0.1', allowHalfOpen: options.halfOpen === true })
  const chunks: Buffer[] = []
  let error: string | undefined
  let closed = false
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  // Half-open, the client ends its side once it has sent everything.
  socket.on('end', () => { if (options.halfOpen === true && sent) socket.end() })
  let sent = false
  socket.on('error', (err: NodeJS.ErrnoException) => { error ??= err.code ?? err.message })
  const done = new Promise<void>(resolve => socket.on('close', () => { closed = true; resolve() }))
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })

  const pieces: Array<string | Buffer> = []
  const head = `${options.head}\r\n\r\n`
  if (options.headChunk === undefined) pieces.push(head)
  else for (let i = 0; i < head.length; i += options.headChunk) pieces.push(head.slice(i, i + options.headChunk))
  pieces.push(...(options.body ?? []))
  for (const [i, piece] of pieces.entries()) {
    if (closed || socket.destroyed) break
    if (i > 0 && options.every !== undefined) await sleep(options.every)
    if (closed || socket.destroyed) break
    socket.write(piece)
  }
  sent = true
  if (options.halfOpen === true && socket.readableEnded) socket.end()
  if (options.abort === true) {
    socket.destroy()
    await done
  } else {
    let timer: NodeJS.Timeout | undefined
    await Promise.race([done, new Promise<void>(resolve => { timer = setTimeout(resolve, options.within ?? 10_000) })])
    clearTimeout(timer)
    if (!closed) socket.destroy()
  }
  return { ...parseAnswer(Buffer.concat(chunks).toString('latin1')), error, ms: Date.now() - started, closed }
}

/** A request head for a POST with a body of `length` bytes. */
export function postHead (url: string, contentType: string, length: number, extra = ''): string {
  return `POST ${url} HTTP/1.1\r\nhost: localhost\r\ncontent-type: ${contentType}\r\ncontent-length: ${length}${extra}`
}
