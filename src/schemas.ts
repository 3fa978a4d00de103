// The wire contract: every body a client sends or receives; mirrors rest_framework_simplejwt/serializers.py
import { Type, type Static } from '@sinclair/typebox'
import { CHAR_FIELD_PATTERN } from './fields.js'

/** DRF CharField limits that we also enforce; longer values are refused with 400 before any work. */
export const USERNAME_MAX_LENGTH = 150
export const PASSWORD_MAX_LENGTH = 4096

// A DRF CharField: a string that is not blank once stripped and holds no NUL. The routes clean and
// explain bodies in DRF's words first (src/fields.ts); the schema documents the same rules.
const CharField = (description: string, options: { maxLength?: number, examples?: string[] } = {}) =>
  Type.String({ minLength: 1, pattern: CHAR_FIELD_PATTERN, description, ...options })

const JWT_EXAMPLE = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjoxNzk1OTg4Nzg5LCJpYXQiOjE3OTU5ODg0ODksImp0aSI6IjE0ODhiN2JiMmZjNTQyN2NhOGNhMGUzNDk1YTIzZWIwIiwidXNlcl9pZCI6MX0.seMtHdrc9cSiRlfBainAd4XtBoizMwC0j2VZCS5PMNQ'
export const TokenStringSchema = (description: string) => Type.String({ description, examples: [JWT_EXAMPLE] })

export const TokenObtainPairBodySchema = Type.Object({
  username: CharField('The username; surrounding whitespace is ignored.', { maxLength: USERNAME_MAX_LENGTH, examples: ['spiderman'] }),
  password: CharField('The password; surrounding whitespace is ignored, as in simplejwt.', { maxLength: PASSWORD_MAX_LENGTH, examples: ['underoos'] })
}, { examples: [{ username: 'spiderman', password: 'underoos' }] })
export type TokenObtainPairBody = Static<typeof TokenObtainPairBodySchema>

export const TokenPairSchema = Type.Object({
  refresh: TokenStringSchema('A refresh token, for POST /api/token/refresh/.'),
  access: TokenStringSchema('An access token, sent as `Authorization: Bearer <access>`.')
})
export type TokenPair = Static<typeof TokenPairSchema>

export const TokenRefreshBodySchema = Type.Object({
  refresh: CharField('A refresh token obtained from POST /api/token/.')
})
export type TokenRefreshBody = Static<typeof TokenRefreshBodySchema>

export const TokenRefreshResponseSchema = Type.Object({
  access: TokenStringSchema('A new access token.'),
  refresh: Type.Optional(TokenStringSchema('The next refresh token; only when ROTATE_REFRESH_TOKENS is on.'))
})
export type TokenRefreshResponse = Static<typeof TokenRefreshResponseSchema>

export const TokenVerifyBodySchema = Type.Object({
  token: CharField('Any token issued by this service, access or refresh.')
})
export type TokenVerifyBody = Static<typeof TokenVerifyBodySchema>

export const TokenBlacklistBodySchema = Type.Object({
  refresh: CharField('The refresh token to blacklist.')
})
export type TokenBlacklistBody = Static<typeof TokenBlacklistBodySchema>

export const EmptySchema = Type.Object({}, { description: 'An empty object.' })

export const HelloSchema = Type.Object({
  msg: Type.String({ examples: ['Hello Peter Parker'] })
})
export type Hello = Static<typeof HelloSchema>

// Error bodies, exactly as DRF renders them.

export const DetailSchema = Type.Object({
  detail: Type.String()
}, { description: 'An error with a human-readable detail.' })

export const TokenErrorSchema = Type.Object({
  detail: Type.String({ examples: ['Token is invalid or expired'] }),
  code: Type.Optional(Type.String({ examples: ['token_not_valid'] })),
  messages: Type.Optional(Type.Array(Type.Object({
    token_class: Type.String(),
    token_type: Type.String(),
    message: Type.String()
  })))
}, { description: 'An authentication failure: `detail`, and a machine-readable `code` where simplejwt gives one.' })

export const FieldErrorsSchema = Type.Record(Type.String(), Type.Array(Type.String()), {
  description: 'Validation errors by field name, or under `non_field_errors`; a malformed body gives `{"detail"}`.',
  examples: [{ username: ['This field is required.'] }]
})

/** The request content types every token route accepts, as DRF's default parsers do. */
export const BODY_CONTENT_TYPES = ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data']
