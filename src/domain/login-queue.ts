// The bound on password checks: how many logins may run or wait for a hash, from one client and in all
import { ServiceUnavailable, Throttled } from './errors.js'

/** Seconds a client is told to wait when the queue is full: a login takes tens of milliseconds. */
export const LOGIN_QUEUE_RETRY_AFTER = 1

export interface LoginQueue {
  /**
   * Takes a place for one login from `client` (its address) and returns the function that gives it
   * back; throws at once, before any work, when that client already holds LOGIN_QUEUE_PER_CLIENT
   * places (429, DRF's throttled answer) or all LOGIN_QUEUE_SIZE places are taken (503).
   */
  enter: (client: string) => () => void
  /** Places taken now, in all. */
  readonly size: number
}

/**
 * A login holds a place from before its user lookup until its password check (and any rehash) is
 * done, so that one client's flood waits in at most LOGIN_QUEUE_PER_CLIENT places and every other
 * client's login has at most LOGIN_QUEUE_SIZE checks ahead of it in src/domain/passwords.ts's queue.
 */
export function createLoginQueue (limits: { size: number, perClient: number }): LoginQueue {
  const byClient = new Map<string, number>()
  let total = 0
  return {
    get size () { return total },
    enter (client) {
      const mine = byClient.get(client) ?? 0
      if (mine >= limits.perClient) throw new Throttled(LOGIN_QUEUE_RETRY_AFTER)
      if (total >= limits.size) throw new ServiceUnavailable(LOGIN_QUEUE_RETRY_AFTER)
      byClient.set(client, mine + 1)
      total++
      let left = false
      return () => {
        if (left) return
        left = true
        total--
        const remaining = (byClient.get(client) ?? 1) - 1
        if (remaining === 0) byClient.delete(client)
        else byClient.set(client, remaining)
      }
    }
  }
}
