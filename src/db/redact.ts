// A failed query's error carries the query's parameters: Drizzle's DrizzleQueryError in `params` and
// in its message (`Failed query: …\nparams: …`), postgres.js in `parameters` and `args`, PGlite in
// `params`; PostgreSQL's own DETAIL (`detail`) quotes the row or the key a constraint refused
// (`Failing row contains (1, argon2$argon2id$…)`). They hold password hashes, usernames and token
// ids, so no log line and no CLI error may show them (issue 15, finding 8): this is the error as it
// may be shown. The SQLSTATE, the constraint, the table and the query's text (placeholders only) stay.

/** The properties that hold a query's values, at any depth of `cause`. */
const PARAMETER_KEYS = new Set(['params', 'parameters', 'args', 'queryParams', 'detail'])
const REDACTED = '[redacted]'
const MAX_DEPTH = 8

/** Drizzle's message ends with the parameters: everything from its `params:` line on goes. */
function redactMessage (message: string): string {
  const at = message.startsWith('params: ') ? 0 : message.indexOf('\nparams: ')
  if (at < 0) return message
  return `${message.slice(0, at)}${at === 0 ? '' : '\n'}params: ${REDACTED}`
}

/**
 * A copy of `err` (same prototype, so `instanceof` and the name still hold) whose query parameters,
 * through every `cause`, are `[redacted]`, in the properties, the message and the stack; anything
 * that is not an Error is returned as it is.
 */
export function redactQueryParameters<T> (err: T, depth = 0): T {
  if (!(err instanceof Error) || depth > MAX_DEPTH) return err
  const copy = Object.create(Object.getPrototypeOf(err) as object) as Error
  for (const key of Reflect.ownKeys(err)) {
    const descriptor = Object.getOwnPropertyDescriptor(err, key) as PropertyDescriptor
    // Node 22+ keeps an error's stack behind an accessor, which would read nothing on the copy: take its value.
    if (key === 'stack' && !('value' in descriptor)) {
      descriptor.value = err.stack
      delete descriptor.get
      delete descriptor.set
      descriptor.writable = true
    }
    if ('value' in descriptor && typeof key === 'string') {
      const value: unknown = descriptor.value
      if (PARAMETER_KEYS.has(key) && value !== undefined) descriptor.value = REDACTED
      else if (key === 'cause') descriptor.value = redactQueryParameters(value, depth + 1)
      else if (key === 'stack' && typeof value === 'string') {
        // The stack starts with "Name: message" and then the frames.
        const frames = value.indexOf('\n    at ')
        descriptor.value = frames < 0 ? redactMessage(value) : redactMessage(value.slice(0, frames)) + value.slice(frames)
      } else if (key === 'message' && typeof value === 'string') descriptor.value = redactMessage(value)
    }
    Object.defineProperty(copy, key, descriptor)
  }
  return copy as T
}
