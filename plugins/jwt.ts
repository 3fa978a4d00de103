import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import fastifyJwt from '@fastify/jwt'
import { eq } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { appSecrets } from '../src/db/schema.js'
import { HMAC_KEY_BYTES } from '../src/config.js'
import { createTokenService, type Claims, type Decoded, type TokenService } from '../src/tokens.js'
import type { Db } from '../src/db/client.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Mints and checks tokens with the configured algorithm, key and clock (src/tokens.ts). */
    tokens: TokenService
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: Claims
    user: AuthenticatedUser
  }
}

/** What `request.user` holds on a route guarded by `fastify.authenticate`. */
export interface AuthenticatedUser {
  id: number
  username: string
  firstName: string
  lastName: string
  email: string
  isStaff: boolean
  isSuperuser: boolean
  /** The validated access token's claims. */
  claims: Claims
}

const GENERATED_KEY = 'jwt_signing_key'

/**
 * The development signing key: generated once and kept in the database, so that every instance and
 * every restart agrees. The first writer wins; everybody reads the winner's key.
 */
export async function storedSigningKey (db: Db): Promise<string> {
  await db.insert(appSecrets).values({ name: GENERATED_KEY, value: randomBytes(64).toString('base64url') }).onConflictDoNothing()
  const [row] = await db.select().from(appSecrets).where(eq(appSecrets.name, GENERATED_KEY))
  return row.value
}

export default fp(async function jwtPlugin (fastify: FastifyInstance) {
  const { config } = fastify
  let key = config.JWT_SIGNING_KEY
  if (key === undefined) {
    key = await storedSigningKey(fastify.db)
    fastify.log.warn('JWT_SIGNING_KEY is not set: using a key generated and stored in the database; set one in production')
  } else if (Buffer.byteLength(key) < HMAC_KEY_BYTES[config.JWT_ALGORITHM]) {
    fastify.log.warn(`JWT_SIGNING_KEY is shorter than ${HMAC_KEY_BYTES[config.JWT_ALGORITHM]} bytes, too weak for ${config.JWT_ALGORITHM}; production refuses it`)
  }

  await fastify.register(fastifyJwt, {
    secret: key,
    sign: { algorithm: config.JWT_ALGORITHM },
    // The algorithm is pinned. Time-based claims are checked by src/tokens.ts against the injected
    // clock, with simplejwt's semantics and messages; fast-jwt only checks format and signature.
    verify: { algorithms: [config.JWT_ALGORITHM], complete: true, ignoreExpiration: true, ignoreNotBefore: true },
    decode: { complete: true }
  })

  fastify.decorate('tokens', createTokenService({
    settings: config,
    sign: (payload) => fastify.jwt.sign(payload),
    verify: (token) => fastify.jwt.verify<Decoded>(token),
    now: fastify.now
  }))
}, { name: 'jwt', dependencies: ['config', 'db'] })
