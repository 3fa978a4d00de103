// The token views' bodies and answers: obtain, refresh, verify, blacklist; mirrors
// rest_framework_simplejwt/serializers.py.
import { Type, type Static } from '@sinclair/typebox'
import { PASSWORD_MAX_LENGTH, USERNAME_MAX_LENGTH } from '../domain/users.js'
import { CharField, DetailSchema, documented, RETRY_AFTER, SERVICE_UNAVAILABLE_EXAMPLES, TokenErrorSchema, TokenStringSchema, WWW_AUTHENTICATE } from './common.js'
import { ACCESS_EXAMPLE, NEXT_ACCESS_EXAMPLE, NEXT_REFRESH_EXAMPLE, REFRESH_EXAMPLE } from './examples.js'

export const TokenObtainPairBodySchema = Type.Object({
  username: CharField('The username; surrounding whitespace is ignored.', { maxLength: USERNAME_MAX_LENGTH, examples: ['spiderman'] }),
  password: CharField('The password; surrounding whitespace is ignored, as in simplejwt.', { maxLength: PASSWORD_MAX_LENGTH, examples: ['underoos'] })
}, { examples: [{ username: 'spiderman', password: 'underoos' }] })
export type TokenObtainPairBody = Static<typeof TokenObtainPairBodySchema>

export const TokenPairSchema = Type.Object({
  refresh: TokenStringSchema('A refresh token, for POST /api/token/refresh/.', REFRESH_EXAMPLE),
  access: TokenStringSchema('An access token, sent as `Authorization: Bearer <access>`.')
}, { $id: 'TokenPair', description: 'A new pair: a refresh token and an access token.' })
export type TokenPair = Static<typeof TokenPairSchema>

export const TokenRefreshBodySchema = Type.Object({
  refresh: CharField('A refresh token obtained from POST /api/token/.')
}, { examples: [{ refresh: REFRESH_EXAMPLE }] })
export type TokenRefreshBody = Static<typeof TokenRefreshBodySchema>

export const TokenRefreshResponseSchema = Type.Object({
  access: TokenStringSchema('A new access token.', NEXT_ACCESS_EXAMPLE),
  refresh: Type.Optional(TokenStringSchema('The next refresh token; only when ROTATE_REFRESH_TOKENS is on.', NEXT_REFRESH_EXAMPLE))
}, { $id: 'RefreshedTokens', description: 'A refresh\'s answer: a new access token, and the next refresh token under rotation.' })
export type TokenRefreshResponse = Static<typeof TokenRefreshResponseSchema>

export const TokenVerifyBodySchema = Type.Object({
  token: CharField('Any token issued by this service, access or refresh.')
}, { examples: [{ token: ACCESS_EXAMPLE }] })
export type TokenVerifyBody = Static<typeof TokenVerifyBodySchema>

export const TokenBlacklistBodySchema = Type.Object({
  refresh: CharField('The refresh token to blacklist.')
}, { examples: [{ refresh: REFRESH_EXAMPLE }] })
export type TokenBlacklistBody = Static<typeof TokenBlacklistBodySchema>

/** The answers of every login view (obtain pair, obtain sliding) besides field errors: failed, throttled and queued-out logins. */
export const LOGIN_ERROR_RESPONSES = {
  401: documented(TokenErrorSchema, 'Unknown user, wrong password or inactive user: the same answer for all three.', {
    noActiveAccount: { summary: 'Wrong credentials', value: { detail: 'No active account found with the given credentials' } }
  }, WWW_AUTHENTICATE),
  429: documented(DetailSchema, 'Too many failed logins for this username or from this client, or too many of this client\'s logins waiting for a password check (LOGIN_QUEUE_PER_CLIENT); `Retry-After` says when to try again.', {
    throttled: { summary: 'Too many failed logins', value: { detail: 'Request was throttled. Expected available in 42 seconds.' } },
    queued: { summary: 'Too many logins from this client at once', value: { detail: 'Request was throttled. Expected available in 1 second.' } }
  }, RETRY_AFTER),
  503: documented(DetailSchema, 'The database does not answer in time, or too many logins are waiting for a password check (LOGIN_QUEUE_SIZE); try again after `Retry-After` seconds.', {
    ...SERVICE_UNAVAILABLE_EXAMPLES,
    loginQueueFull: { summary: 'Too many logins at once', value: { detail: 'Service temporarily unavailable, try again later.' } }
  }, RETRY_AFTER)
}

/** 429 from the refresh views: REFRESH_THROTTLE, per user. */
export const RefreshThrottledResponse = documented(DetailSchema, 'Too many refreshes for this token\'s user in the current window (REFRESH_THROTTLE); `Retry-After` says when to try again.', {
  throttled: { summary: 'Too many refreshes', value: { detail: 'Request was throttled. Expected available in 42 seconds.' } }
}, RETRY_AFTER)
