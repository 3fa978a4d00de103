// Bounds on every database call (DATABASE_TIMEOUT): a deadline on the client side, applied inside the
// driver handle that Drizzle uses, so that callers need no change; and the matching server-side limits.
import type { Sql, TransactionSql } from 'postgres'
import type { PGlite, Transaction } from '@electric-sql/pglite'

/** A database call outlived DATABASE_TIMEOUT; answered 503 like any database outage. */
export class DatabaseTimeout extends Error {
  readonly code = 'DATABASE_TIMEOUT'
  constructor (ms: number) {
    super(`the database did not answer within ${ms} ms`)
    this.name = 'DatabaseTimeout'
  }
}

/**
 * Settles like `work`, or rejects with DatabaseTimeout after `ms`, whichever comes first; `onExpire`
 * runs when the deadline wins. A late rejection of `work` is handled (never unhandled).
 */
export function withDeadline<T> (work: PromiseLike<T>, ms: number, onExpire?: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      try {
        onExpire?.()
      } catch {
        // Only an attempt to stop the work early; the caller is answered all the same.
      }
      reject(new DatabaseTimeout(ms))
    }, ms)
    work.then(
      (value) => { clearTimeout(timer); resolve(value) },
      (err: unknown) => { clearTimeout(timer); reject(err) }
    )
  })
}

/**
 * The server-side limits for a deadline of `ms`: a statement or a lock wait is cancelled by the server
 * a little before the client gives up (so the connection is free again by then), and a session left
 * idle inside a transaction is ended.
 */
export function serverTimeouts (ms: number): { statement_timeout: number, lock_timeout: number, idle_in_transaction_session_timeout: number } {
  const statement = Math.max(1, Math.floor(ms * 0.9))
  return { statement_timeout: statement, lock_timeout: statement, idle_in_transaction_session_timeout: ms }
}

const SET_LOCAL = "select set_config('statement_timeout', $1, true), set_config('lock_timeout', $2, true), set_config('idle_in_transaction_session_timeout', $3, true)"

type Query = ReturnType<Sql['unsafe']>

/**
 * A query whose await is bounded. A query still waiting for a connection when the deadline passes is
 * taken out of postgres.js's queue; one already sent is left to the server's statement_timeout
 * (postgres.js cancels a sent query through a new connection and drops that promise's rejection).
 */
function boundedQuery (query: Query, ms: number): Query {
  let settled: Promise<unknown> | undefined
  const run = () => (settled ??= withDeadline(query, ms, () => {
    if ((query as unknown as { state: unknown }).state == null) query.cancel()
  }))
  const bounded = {
    // As a postgres.js query, for a client bounded twice (an application's bounded client passed in).
    get state () { return (query as unknown as { state: unknown }).state },
    cancel () { return query.cancel() },
    values () { query.values(); return bounded },
    then (onFulfilled?: (value: unknown) => unknown, onRejected?: (reason: unknown) => unknown) { return run().then(onFulfilled, onRejected) },
    catch (onRejected?: (reason: unknown) => unknown) { return run().catch(onRejected) },
    finally (onFinally?: () => void) { return run().finally(onFinally) }
  }
  return bounded as unknown as Query
}

/** Inside a transaction whose deadline has passed, every further query fails, so that it rolls back. */
function guardedTransaction (tx: TransactionSql, ms: number, expired: () => boolean): TransactionSql {
  return new Proxy(tx, {
    get (target, property, receiver) {
      if (property === 'unsafe') {
        return (...args: Parameters<TransactionSql['unsafe']>) => {
          if (expired()) throw new DatabaseTimeout(ms)
          return target.unsafe(...args)
        }
      }
      return Reflect.get(target, property, receiver) as unknown
    }
  })
}

/**
 * A postgres.js client whose every query (`unsafe`, what Drizzle calls) and transaction (`begin`) is
 * bounded by `ms`. A transaction whose deadline passes rolls back: its next query fails, and so does its
 * end if it got that far. `setLocal` sets the server-side limits inside each transaction, for a client
 * the service did not create (its own clients have them as connection parameters).
 */
export function boundedPostgres (sql: Sql, ms: number, { setLocal }: { setLocal: boolean }): Sql {
  const limits = serverTimeouts(ms)
  return new Proxy(sql, {
    get (target, property, receiver) {
      if (property === 'unsafe') {
        return (...args: Parameters<Sql['unsafe']>) => boundedQuery(target.unsafe(...args), ms)
      }
      if (property === 'begin') {
        return (options: unknown, fn?: unknown) => {
          const body = (fn ?? options) as (tx: TransactionSql) => Promise<unknown>
          let expired = false
          const run = target.begin(typeof options === 'string' ? options : '', async (tx) => {
            if (setLocal) await tx.unsafe(SET_LOCAL, [String(limits.statement_timeout), String(limits.lock_timeout), String(limits.idle_in_transaction_session_timeout)])
            const result = await body(guardedTransaction(tx, ms, () => expired))
            if (expired) throw new DatabaseTimeout(ms)
            return result
          })
          return withDeadline(run, ms, () => { expired = true })
        }
      }
      return Reflect.get(target, property, receiver) as unknown
    }
  })
}

/**
 * A PGlite whose queries and transactions are bounded like postgres.js's. PGlite runs in the process
 * and cannot hang on a network, but a deadline applies uniformly.
 */
export function boundedPglite (client: PGlite, ms: number): PGlite {
  return new Proxy(client, {
    get (target, property, receiver) {
      if (property === 'query') {
        return (...args: Parameters<PGlite['query']>) => withDeadline(target.query(...args), ms)
      }
      if (property === 'transaction') {
        return <T>(body: (tx: Transaction) => Promise<T>) => {
          let expired = false
          const run = target.transaction(async (tx) => {
            const result = await body(new Proxy(tx, {
              get (t, p, r) {
                if (p === 'query' && expired) return () => Promise.reject(new DatabaseTimeout(ms))
                return Reflect.get(t, p, r) as unknown
              }
            }))
            if (expired) throw new DatabaseTimeout(ms)
            return result
          })
          return withDeadline(run, ms, () => { expired = true })
        }
      }
      const value = Reflect.get(target, property, receiver) as unknown
      // PGlite's methods use private fields: they must run on the instance, not on the proxy.
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
    }
  })
}
