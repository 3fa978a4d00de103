// HTTP errors in DRF's shapes, and the domain TokenError; mirrors rest_framework_simplejwt/exceptions.py

/** Any answer that is an error: a status and the exact JSON body DRF would send. */
export class ApiError extends Error {
  constructor (readonly statusCode: number, readonly body: Record<string, unknown>) {
    super(typeof body.detail === 'string' ? body.detail : 'API error')
    this.name = 'ApiError'
  }
}

/** 400 with DRF's field errors: `{"field": ["message"]}` or `{"non_field_errors": [...]}`. */
export class ValidationError extends ApiError {
  constructor (fields: Record<string, string[]>) {
    super(400, fields)
    this.name = 'ValidationError'
  }
}

/**
 * Every `code` a 401 carries: InvalidToken's, and those simplejwt's authentication and views give
 * AuthenticationFailed. The OpenAPI document lists them as TokenError.code's enum.
 */
export const TOKEN_ERROR_CODES = ['token_not_valid', 'no_active_account', 'bad_authorization_header', 'user_not_found', 'user_inactive'] as const
export type TokenErrorCode = typeof TOKEN_ERROR_CODES[number]

/** 401 `{"detail", "code"?}`: rest_framework.exceptions.AuthenticationFailed. */
export class AuthenticationFailed extends ApiError {
  constructor (detail: string, code?: TokenErrorCode) {
    super(401, code === undefined ? { detail } : { detail, code })
    this.name = 'AuthenticationFailed'
  }
}

/** 401 without a `code`: rest_framework.exceptions.NotAuthenticated. */
export class NotAuthenticated extends ApiError {
  constructor () {
    super(401, { detail: 'Authentication credentials were not provided.' })
    this.name = 'NotAuthenticated'
  }
}

/** One entry of the `messages` list that the authentication class adds to InvalidToken. */
export interface TokenMessage { token_class: string, token_type: string, message: string }

/** 401 `token_not_valid`: rest_framework_simplejwt.exceptions.InvalidToken. */
export class InvalidToken extends ApiError {
  constructor (detail: string, messages?: TokenMessage[]) {
    super(401, messages === undefined
      ? { detail, code: 'token_not_valid' satisfies TokenErrorCode }
      : { detail, code: 'token_not_valid' satisfies TokenErrorCode, messages })
    this.name = 'InvalidToken'
  }
}

/** 429 in DRF's throttling wording, with the seconds to wait. */
export class Throttled extends ApiError {
  constructor (readonly retryAfter: number) {
    super(429, { detail: `Request was throttled. Expected available in ${retryAfter} second${retryAfter === 1 ? '' : 's'}.` })
    this.name = 'Throttled'
  }
}

/** 503 in DRF's ServiceUnavailable wording: the service is too busy now; retry after `retryAfter` seconds. */
export class ServiceUnavailable extends ApiError {
  constructor (readonly retryAfter: number) {
    super(503, { detail: 'Service temporarily unavailable, try again later.' })
    this.name = 'ServiceUnavailable'
  }
}

/**
 * A token failed a check. Knows nothing about HTTP: the token routes and the authentication
 * hook translate it into InvalidToken at one boundary, as simplejwt's views do.
 */
export class TokenError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'TokenError'
  }
}

/** The messages simplejwt uses for each token check, verbatim. */
export const TOKEN_MESSAGES = {
  invalid: 'Token is invalid or expired',
  noExp: "Token has no 'exp' claim",
  noId: 'Token has no id',
  noType: 'Token has no type',
  wrongType: 'Token has wrong type',
  blacklisted: 'Token is blacklisted',
  noUser: 'Token contained no recognizable user identification'
} as const

/** Thrown when a username is taken. */
export class DuplicateUsername extends Error {
  constructor (readonly username: string) {
    super(`a user named ${JSON.stringify(username)} already exists`)
    this.name = 'DuplicateUsername'
  }
}
