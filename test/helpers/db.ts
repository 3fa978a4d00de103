// What the tests read straight from the tables, so that the service carries no test-only queries.
import { and, eq, isNull } from 'drizzle-orm'
import { blacklistedTokens, outstandingTokens } from '../../src/db/schema.js'
import type { Db } from '../../src/db/client.js'

/** The jtis of a user's outstanding refresh tokens that are not blacklisted. */
export async function activeFor (db: Db, userId: number): Promise<string[]> {
  const rows = await db.select({ jti: outstandingTokens.jti }).from(outstandingTokens)
    .leftJoin(blacklistedTokens, eq(blacklistedTokens.jti, outstandingTokens.jti))
    .where(and(eq(outstandingTokens.userId, userId), isNull(blacklistedTokens.id)))
  return rows.map(r => r.jti)
}
