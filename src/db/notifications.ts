// NOTIFY subscriptions with a state the caches can trust: `subscribed` is true only while a LISTEN
// connection is known to be alive. On PostgreSQL that is a dedicated connection of our own (not
// postgres.js's `sql.listen`, which re-subscribes only after its reconnect backoff and cannot tell a
// silent partition from a quiet channel): a heartbeat on it detects a connection that died without a
// reset, a drop is announced at once ('down'), and re-subscribing is retried every `retryMs`.
import { EventEmitter } from 'node:events'
import type { Sql } from 'postgres'

/**
 * The state of an instance's NOTIFY subscription, shared by every channel of one database.
 * Events: 'down' (the LISTEN connection dropped or stopped answering: notifications may be missed
 * from now on), 'up' (LISTEN re-established on every channel), 'notification' (channel, payload).
 */
export interface Subscription extends EventEmitter {
  /** True while notifications are known to arrive; while false, nothing cached from them may be trusted. */
  readonly subscribed: boolean
}

/** What `Database.listen` resolves to. */
export interface Listening {
  subscription: Subscription
  /** Stops this listener; the LISTEN connection closes with the last one. */
  unlisten: () => Promise<void>
}

export interface NotificationTimings {
  /** The pause between two heartbeats (`select 1`) on the LISTEN connection. */
  heartbeatMs: number
  /** A heartbeat not answered within this is a dead connection (a partition sends no reset). */
  heartbeatTimeoutMs: number
  /** The pause before trying to re-subscribe after a drop or a failed attempt. */
  retryMs: number
  /** The bound on one attempt: connecting and LISTEN on every channel. */
  attemptTimeoutMs: number
}

/**
 * The defaults: a silent partition is noticed within heartbeatMs + heartbeatTimeoutMs (4 s), and the
 * subscription is back within about retryMs of the database answering again.
 */
export const NOTIFICATION_TIMINGS: Readonly<NotificationTimings> = Object.freeze({
  heartbeatMs: 1000,
  heartbeatTimeoutMs: 3000,
  retryMs: 250,
  attemptTimeoutMs: 2000
})

/** A subscription that never drops: PGlite delivers notifications inside the process. */
export class SteadySubscription extends EventEmitter implements Subscription {
  readonly subscribed = true
  constructor () {
    super()
    // Every cache of every app on this database follows it: many listeners are expected.
    this.setMaxListeners(0)
  }
}

class TimeoutError extends Error {
  constructor (what: string, ms: number) {
    super(`${what} took longer than ${ms} ms`)
    this.name = 'TimeoutError'
  }
}

/** `promise`, or a rejection after `ms`; the timer never outlives it. */
async function bounded<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms) })
    ])
  } finally {
    clearTimeout(timer)
  }
}

const quote = (channel: string) => `"${channel.replace(/"/g, '""')}"`

/** What the manager needs to open a LISTEN connection: a postgres.js client with max 1 and these hooks. */
export type ListenClientFactory = (hooks: { onnotify: (channel: string, payload: string) => void, onclose: () => void }) => Sql

/** The notifications of the database `sql` connects to, on connections with the same options. */
export async function postgresNotifications (sql: Sql, timings: Partial<NotificationTimings> = {}): Promise<PostgresNotifications> {
  const { default: postgres } = await import('postgres')
  const all = { ...NOTIFICATION_TIMINGS, ...timings }
  return new PostgresNotifications(listenClientFactory(sql, postgres as never, all.attemptTimeoutMs), all)
}

/** A factory of dedicated LISTEN clients with the options of an existing postgres.js client. */
function listenClientFactory (sql: Sql, postgres: (options: Record<string, unknown>) => Sql, connectTimeoutMs: number): ListenClientFactory {
  return ({ onnotify, onclose }) => postgres({
    ...sql.options,
    // Its own reconnect bookkeeping: the pool's backoff must not delay re-subscribing.
    shared: { retries: 0, typeArrayMap: {} },
    max: 1,
    idle_timeout: null,
    max_lifetime: null,
    fetch_types: false,
    connect_timeout: Math.max(1, Math.ceil(connectTimeoutMs / 1000)),
    onnotice: () => {},
    onnotify,
    onclose
  })
}

/**
 * One dedicated LISTEN connection for all the channels of a PostgreSQL database, opened with the
 * first listener and closed with the last.
 */
export class PostgresNotifications extends EventEmitter implements Subscription {
  private live = false
  private client: Sql | undefined
  /** The channels LISTENed on `client`. */
  private listening = new Set<string>()
  private readonly channels = new Map<string, Set<(payload: string) => void>>()
  private attempt: Promise<void> | undefined
  private retryTimer: NodeJS.Timeout | undefined
  private heartbeatTimer: NodeJS.Timeout | undefined
  private closed = false

  constructor (private readonly open: ListenClientFactory, private readonly timings: NotificationTimings = NOTIFICATION_TIMINGS) {
    super()
    // Every cache of every app on this database follows it: many listeners are expected.
    this.setMaxListeners(0)
  }

  get subscribed (): boolean { return this.live }

  /**
   * Adds a listener. Resolves once the first attempt to subscribe has ended, whether or not it
   * succeeded: while it has not, `subscribed` is false and retries go on in the background.
   */
  async listen (channel: string, onNotify: (payload: string) => void): Promise<Listening> {
    if (this.closed) throw new Error('the notifications of this database are closed')
    let listeners = this.channels.get(channel)
    if (listeners === undefined) this.channels.set(channel, listeners = new Set())
    const listener = (payload: string) => onNotify(payload)
    listeners.add(listener)
    if (this.live && this.client !== undefined && !this.listening.has(channel)) {
      const client = this.client
      try {
        await bounded(client.unsafe(`listen ${quote(channel)}`), this.timings.attemptTimeoutMs, 'LISTEN')
        if (this.client === client) this.listening.add(channel)
      } catch (err) {
        if (this.client === client) this.drop(err)
      }
    } else if (!this.live) {
      this.connect()
      await this.attempt
    }
    return { subscription: this, unlisten: () => this.unlisten(channel, listener) }
  }

  /** Stops everything: no connection, no timers. */
  async close (): Promise<void> {
    this.closed = true
    this.channels.clear()
    await this.stop()
  }

  private async unlisten (channel: string, listener: (payload: string) => void): Promise<void> {
    const listeners = this.channels.get(channel)
    if (listeners === undefined || !listeners.delete(listener) || listeners.size > 0) return
    this.channels.delete(channel)
    if (this.channels.size === 0) return this.stop()
    const client = this.client
    if (client === undefined || !this.listening.delete(channel)) return
    await bounded(client.unsafe(`unlisten ${quote(channel)}`), this.timings.attemptTimeoutMs, 'UNLISTEN').catch(() => {})
  }

  private async stop (): Promise<void> {
    clearTimeout(this.retryTimer)
    clearTimeout(this.heartbeatTimer)
    this.retryTimer = this.heartbeatTimer = undefined
    const client = this.client
    this.client = undefined
    this.listening = new Set()
    this.live = false
    await this.attempt
    await client?.end({ timeout: 0 }).catch(() => {})
  }

  /** Starts an attempt to subscribe unless one is under way; `attempt` settles when it ends. */
  private connect (): void {
    if (this.attempt !== undefined || this.closed || this.channels.size === 0) return
    clearTimeout(this.retryTimer)
    this.retryTimer = undefined
    this.attempt = this.subscribe().finally(() => { this.attempt = undefined })
  }

  private async subscribe (): Promise<void> {
    let client: Sql | undefined
    const listening = new Set<string>()
    try {
      client = this.open({
        onnotify: (channel, payload) => {
          if (client !== this.client) return
          this.emit('notification', channel, payload)
          for (const listener of this.channels.get(channel) ?? []) listener(payload)
        },
        // A reset, or the server going away: announced at once, not after a backoff.
        onclose: () => { if (client !== undefined && client === this.client) this.drop(new Error('the LISTEN connection closed')) }
      })
      const opened = client
      await bounded((async () => {
        // Channels added while this attempt runs are picked up before it counts as subscribed.
        for (let pending = [...this.channels.keys()]; pending.length > 0; pending = [...this.channels.keys()].filter(c => !listening.has(c))) {
          for (const channel of pending) {
            await opened.unsafe(`listen ${quote(channel)}`)
            listening.add(channel)
          }
        }
      })(), this.timings.attemptTimeoutMs, 'subscribing')
    } catch {
      await client?.end({ timeout: 0 }).catch(() => {})
      this.scheduleRetry()
      return
    }
    if (this.closed || this.channels.size === 0) {
      await client.end({ timeout: 0 }).catch(() => {})
      return
    }
    this.client = client
    this.listening = listening
    this.live = true
    this.emit('up')
    this.scheduleHeartbeat()
  }

  private scheduleRetry (): void {
    if (this.closed || this.channels.size === 0 || this.retryTimer !== undefined) return
    this.retryTimer = setTimeout(() => { this.retryTimer = undefined; this.connect() }, this.timings.retryMs)
    this.retryTimer.unref()
  }

  private scheduleHeartbeat (): void {
    const client = this.client
    if (client === undefined) return
    this.heartbeatTimer = setTimeout(() => {
      this.heartbeatTimer = undefined
      bounded(client.unsafe('select 1'), this.timings.heartbeatTimeoutMs, 'the LISTEN heartbeat').then(
        () => { if (client === this.client) this.scheduleHeartbeat() },
        (err) => { if (client === this.client) this.drop(err) }
      )
    }, this.timings.heartbeatMs)
    this.heartbeatTimer.unref()
  }

  /**
   * The LISTEN connection is gone or cannot be trusted: 'down' first (the caches stop answering from
   * memory before anything else happens), then the connection is destroyed and re-subscribing starts.
   */
  private drop (reason: unknown): void {
    const client = this.client
    this.client = undefined
    this.listening = new Set()
    clearTimeout(this.heartbeatTimer)
    this.heartbeatTimer = undefined
    const wasLive = this.live
    this.live = false
    if (wasLive) this.emit('down', reason)
    client?.end({ timeout: 0 }).catch(() => {})
    this.scheduleRetry()
  }
}
