import fastifyJwt, { type JWT } from '@fastify/jwt'
import { createVerifier } from 'fast-jwt'
import type { FastifyInstance } from 'fastify'
import { isHmac, keyedVerifier, type Algorithm, type KeySet } from '../src/domain/keys.js'
import type { Claims, Decoded } from '../src/domain/tokens.js'

// No declaration of @fastify/jwt's FastifyJWT here: an application that types its own keeps it
// (the opt-in src/augment.ts types request.user for the others).

// Time-based claims are checked by src/domain/tokens.ts against the injected clock, with simplejwt's
// semantics and messages; fast-jwt checks the format, the pinned algorithm and the signature.
// Verified tokens are remembered by the token backend itself (src/domain/tokens.ts), which also keeps the
// results of its own format checks; fast-jwt's cache would only duplicate it.
/** The @fastify/jwt namespace of the service's signer. */
const JWT_NAMESPACE = 'simplejwt'

const VERIFY_OPTIONS = { complete: true, ignoreExpiration: true, ignoreNotBefore: true } as const

/** The signer and verifier of the service's tokens, with the pinned algorithm and the key set. */
export interface Signer {
  sign: (payload: Claims) => string
  verify: (token: string) => Decoded
}

/**
 * Registers @fastify/jwt in a scope of its own, under a namespace, with the signing key and the pinned
 * algorithm: an application that registers its own @fastify/jwt (and its `fastify.jwt`,
 * `request.user`) keeps them untouched. Each verifying key accepts exactly its own algorithm: no
 * key is ever tried with another one.
 */
export async function registerSigner (fastify: FastifyInstance, keys: KeySet, alg: Algorithm): Promise<Signer> {
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
  const verify = keyedVerifier<Decoded>(keys, (key) => key === keys.current
    ? (token) => signer.verify<Decoded>(token)
    : createVerifier({ key: key.key, algorithms: [key.alg], ...VERIFY_OPTIONS }) as (token: string) => Decoded)
  return { sign: (payload) => signer.sign(payload), verify }
}
