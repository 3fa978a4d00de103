// The declarations that type request.user reach applications through this reference (dist/plugins/jwt.d.ts).
/// <reference types="@fastify/jwt" preserve="true" />
import fp from 'fastify-plugin'
import fastifyJwt, { type JWT } from '@fastify/jwt'
import { createVerifier } from 'fast-jwt'
import type { FastifyInstance } from 'fastify'
import { keySettings } from '../src/domain/settings.js'
import { HMAC_KEY_BYTES, isHmac, keyedVerifier, loadKeySet } from '../src/domain/keys.js'
import { createTokenService, type Claims, type Decoded, type TokenClaimsHook } from '../src/domain/tokens.js'
import type { AuthenticatedUser } from '../src/domain/authentication.js'
import { storedSigningKey } from '../src/db/secrets.js'

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: Claims
    user: AuthenticatedUser
  }
}

export type { AuthenticatedUser }

export interface JwtPluginOptions {
  /** Extra claims for new tokens (simplejwt's get_token override); reserved claims are dropped with a warning. */
  tokenClaims?: TokenClaimsHook
}

// Time-based claims are checked by src/domain/tokens.ts against the injected clock, with simplejwt's
// semantics and messages; fast-jwt checks the format, the pinned algorithm and the signature.
// Verified tokens are remembered by the token backend itself (src/domain/tokens.ts), which also keeps the
// results of its own format checks; fast-jwt's cache would only duplicate it.
/** The @fastify/jwt namespace of the service's signer. */
const JWT_NAMESPACE = 'simplejwt'

const VERIFY_OPTIONS = { complete: true, ignoreExpiration: true, ignoreNotBefore: true } as const

export default fp<JwtPluginOptions>(async function jwtPlugin (fastify: FastifyInstance, options: JwtPluginOptions) {
  const { config } = fastify.simplejwt
  const alg = config.JWT_ALGORITHM
  let signingKey = config.JWT_SIGNING_KEY
  if (signingKey === undefined) {
    signingKey = await storedSigningKey(fastify.simplejwt.db, alg)
    fastify.log.warn('JWT_SIGNING_KEY is not set: using a key generated and stored in the database; set one in production')
  } else if (isHmac(alg) && Buffer.byteLength(signingKey) < HMAC_KEY_BYTES[alg]) {
    fastify.log.warn(`JWT_SIGNING_KEY is shorter than ${HMAC_KEY_BYTES[alg]} bytes, too weak for ${alg}; production refuses it`)
  }
  const keys = loadKeySet(keySettings(config, signingKey))

  // @fastify/jwt in a scope of its own, under a namespace: an application that registers its own
  // @fastify/jwt (and its `fastify.jwt`, `request.user`) keeps them untouched.
  let signer!: JWT
  await fastify.register(async function privateJwt (scope) {
    await scope.register(fastifyJwt, {
      secret: isHmac(alg) ? keys.signingKey : { private: keys.signingKey, public: keys.current.key as string },
      sign: { algorithm: alg, kid: keys.kid },
      verify: { algorithms: [alg], ...VERIFY_OPTIONS },
      decode: { complete: true },
      namespace: JWT_NAMESPACE,
      decoratorName: `${JWT_NAMESPACE}User`
    })
    signer = (scope.jwt as unknown as Record<string, JWT>)[JWT_NAMESPACE]
  })

  // Each verifying key accepts exactly its own algorithm: no key is ever tried with another one.
  const verify = keyedVerifier<Decoded>(keys, (key) => key === keys.current
    ? (token) => signer.verify<Decoded>(token)
    : createVerifier({ key: key.key, algorithms: [key.alg], ...VERIFY_OPTIONS }) as (token: string) => Decoded)

  fastify.simplejwt.keys = keys
  fastify.simplejwt.tokens = createTokenService({
    settings: config,
    sign: (payload) => signer.sign(payload),
    verify,
    now: fastify.simplejwt.now,
    tokenClaims: options.tokenClaims,
    onReservedClaims: (names) => fastify.log.warn({ event: 'reserved_claims_ignored', claims: names },
      'tokenClaims returned reserved claims; they were ignored')
  })
}, { name: 'simplejwt-jwt', dependencies: ['simplejwt-db'] })
