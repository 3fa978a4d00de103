// app_secrets: what the service keeps for itself in the database (the development signing key).
import { eq } from 'drizzle-orm'
import { appSecrets } from './schema.js'
import type { Db } from './client.js'
import { generateKey, isHmac, type Algorithm } from '../domain/keys.js'

/**
 * The development signing key for an algorithm: generated once and kept in the database, so that
 * every instance and every restart agrees. The first writer wins; everybody reads the winner's key.
 */
export async function storedSigningKey (db: Db, alg: Algorithm): Promise<string> {
  const name = isHmac(alg) ? 'jwt_signing_key' : `jwt_signing_key:${alg}`
  await db.insert(appSecrets).values({ name, value: generateKey(alg).signingKey }).onConflictDoNothing()
  const [row] = await db.select().from(appSecrets).where(eq(appSecrets.name, name))
  return row.value
}
