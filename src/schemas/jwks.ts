// The JWKS document: the public keys that verify the service's tokens (RFC 7517).
import { Type } from '@sinclair/typebox'
import { ref } from './common.js'

export const JwkSchema = Type.Object({
  kty: Type.String({ description: 'The key type: `RSA`, `EC` or `OKP`.', examples: ['EC'] }),
  kid: Type.String({ description: 'The key id: the `kid` header of the tokens it verifies (RFC 7638 thumbprint).' }),
  alg: Type.String({ description: 'The one algorithm this key verifies.', examples: ['ES256'] }),
  use: Type.Literal('sig', { description: 'Always `sig`: the key verifies signatures.' }),
  crv: Type.Optional(Type.String({ description: 'The curve (EC, OKP).' })),
  x: Type.Optional(Type.String({ description: 'The public point\'s x coordinate (EC, OKP), base64url.' })),
  y: Type.Optional(Type.String({ description: 'The public point\'s y coordinate (EC), base64url.' })),
  n: Type.Optional(Type.String({ description: 'The modulus (RSA), base64url.' })),
  e: Type.Optional(Type.String({ description: 'The exponent (RSA), base64url.' }))
}, { $id: 'JsonWebKey', description: 'A public JSON Web Key (RFC 7517).' })

export const JsonWebKeySetSchema = Type.Object({
  keys: Type.Array(ref(JwkSchema), { description: 'The current key first, then the retired ones.' })
}, { $id: 'JsonWebKeySet', description: 'A JSON Web Key Set (RFC 7517): the public keys that verify this service\'s tokens.' })

export const EC_KEY_EXAMPLE = {
  kty: 'EC',
  x: 'o5yqDzsG4J7IfXLqdIZrcV8-SSjaayqF7-lc3qszfZE',
  y: 'Zzkn_4mt1_ef23V2yGavrF8bnrTaA2NGLo4X5QTLmX4',
  crv: 'P-256',
  kid: 'wscJPcOfwQCiea1qdvgG9QtKeLP_fBOct6h1AIyQ0qI',
  alg: 'ES256',
  use: 'sig'
}
