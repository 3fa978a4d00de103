// What every part of the wire contract shares: DRF's CharField, documented answers, DRF's error
// bodies and the headers that come with them, the content types and the security scheme.
// Descriptions, examples and response headers are documentation only (OpenAPI at /docs/json): they
// never change what is validated or sent.
import { Type, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox'
import { CHAR_FIELD_PATTERN } from '../domain/drf-fields.js'
import { TOKEN_ERROR_CODES, type TokenErrorCode } from '../domain/errors.js'
import { ACCESS_EXAMPLE } from './examples.js'

/**
 * DRF CharField limits that we also enforce; longer values are refused with 400 before any work. A
 * JSON schema's maxLength counts characters (code points), as Python's len() does, and so does Ajv
 * unless its `unicode` option is false (src/plugin.ts and src/app.ts leave it on): 150 emoji are 150.
 */
export { PASSWORD_MAX_LENGTH, USERNAME_MAX_LENGTH } from '../domain/users.js'

// A DRF CharField: a string that is not blank once stripped and holds no NUL. The routes clean and
// explain bodies in DRF's words first (src/domain/drf-fields.ts); the schema documents the same rules.
export const CharField = (description: string, options: { maxLength?: number, examples?: string[] } = {}) =>
  Type.String({ minLength: 1, pattern: CHAR_FIELD_PATTERN, description, ...options })

export const TokenStringSchema = (description: string, example: string = ACCESS_EXAMPLE) => Type.String({ description, examples: [example] })

/** One named example of a body, as OpenAPI's Example Object: Swagger UI offers them, Redocly checks them against the schema. */
export interface Example { summary: string, value: unknown }

/** A response header, as @fastify/swagger documents it. */
export interface ResponseHeader { type: 'string' | 'integer', description: string, example?: string | number }

/**
 * A reference to a named schema (one with an `$id`): the OpenAPI document lists the schema once,
 * under `components.schemas`, and every route that answers with it references it. Typed as the
 * schema itself, for the routes' type provider. The schema must be added to the route's scope
 * (plugins/components.ts) so that the serializer resolves the reference.
 */
export function ref<T extends TSchema> (schema: T): TUnsafe<Static<T>> {
  if (schema.$id === undefined) throw new Error('ref(): the schema has no $id')
  return Type.Unsafe<Static<T>>(Type.Ref(schema.$id))
}

/** A documented answer, in Fastify's per-content-type form: OpenAPI's Response Object as it is. */
export interface DocumentedResponse<T extends TSchema> {
  description: string
  headers?: Record<string, ResponseHeader>
  content: { 'application/json': { schema: T, examples: Record<string, Example> } }
}

/**
 * A documented answer: the response's description, its headers, and its JSON body with named
 * examples; a named schema is referenced (`$ref`), any other inlined. Documentation aside, the body
 * serializes exactly as its schema did: Fastify serializes `content['application/json'].schema`.
 */
export function documented<T extends TSchema> (schema: T, description: string, examples: Record<string, Example>, headers?: Record<string, ResponseHeader>): DocumentedResponse<TUnsafe<Static<T>>> {
  const body = (schema.$id === undefined ? schema : ref(schema)) as TUnsafe<Static<T>>
  return { description, ...(headers === undefined ? {} : { headers }), content: { 'application/json': { schema: body, examples } } }
}

export const EmptySchema = Type.Object({}, { $id: 'Empty', description: 'An empty object: the answer of a request that succeeded and has nothing to say.' })
export const EMPTY_EXAMPLES: Record<string, Example> = { empty: { summary: 'Always an empty object', value: {} } }

// Error bodies, exactly as DRF renders them.

// Every `code` a 401 carries (src/domain/errors.ts types them); a 401 without one has none.
export { TOKEN_ERROR_CODES, type TokenErrorCode } from '../domain/errors.js'

export const DetailSchema = Type.Object({
  detail: Type.String({ description: 'What went wrong, for humans.' })
}, { $id: 'Detail', description: 'An error with a human-readable detail.' })

export const TokenErrorSchema = Type.Object({
  detail: Type.String({ description: 'What went wrong, for humans.', examples: ['Token is invalid or expired'] }),
  code: Type.Optional(Type.Unsafe<TokenErrorCode>({ type: 'string', enum: [...TOKEN_ERROR_CODES], description: 'What went wrong, for programs: `token_not_valid` (the token is invalid, expired, blacklisted or revoked), `no_active_account` (the token\'s user is inactive or gone), `bad_authorization_header`, `user_not_found` or `user_inactive` (the access token\'s user).', examples: ['token_not_valid'] })),
  messages: Type.Optional(Type.Array(Type.Object({
    token_class: Type.String({ description: 'The token class tried, as simplejwt names it.', examples: ['AccessToken'] }),
    token_type: Type.String({ description: 'The token type tried.', examples: ['access'] }),
    message: Type.String({ description: 'Why that token type did not fit.', examples: ['Token is invalid or expired'] })
  }), { description: 'Why the presented token was refused, per token type tried (authenticated routes only).' }))
}, { $id: 'TokenError', description: 'An authentication failure: `detail`, and a machine-readable `code` where simplejwt gives one.' })

export const FieldErrorsSchema = Type.Record(Type.String(), Type.Array(Type.String()), {
  $id: 'FieldErrors',
  description: 'Validation errors by field name, or under `non_field_errors`.'
})

/** A 400: errors by field name (or `non_field_errors`), or `{"detail"}` for a malformed body. */
export const ValidationErrorSchema = Type.Union([ref(FieldErrorsSchema), ref(DetailSchema)], {
  $id: 'ValidationError',
  description: 'A refused body: errors by field name (or under `non_field_errors`), or `{"detail"}` when the body is malformed.'
})

/** The headers that come with error answers. */
export const WWW_AUTHENTICATE: Record<string, ResponseHeader> = {
  'www-authenticate': { type: 'string', description: 'The authentication challenge, on every 401.', example: 'Bearer realm="api"' }
}
export const RETRY_AFTER: Record<string, ResponseHeader> = {
  'retry-after': { type: 'integer', description: 'Seconds to wait before trying again.', example: 5 }
}

export const SERVICE_UNAVAILABLE_EXAMPLES: Record<string, Example> = {
  databaseUnavailable: { summary: 'The database does not answer', value: { detail: 'Service temporarily unavailable, try again later.' } }
}

/** 503: the database is away (the answer comes within seconds; the client may retry). */
export const ServiceUnavailableResponse = documented(DetailSchema, 'The database does not answer in time; try again later.', SERVICE_UNAVAILABLE_EXAMPLES, RETRY_AFTER)

/** 401 from an authenticated route (hello, revoke-all): simplejwt's JWTAuthentication failures. */
export function authenticationErrorResponse (description: string) {
  return documented(TokenErrorSchema, description, {
    notProvided: { summary: 'No Authorization header', value: { detail: 'Authentication credentials were not provided.' } },
    tokenNotValid: {
      summary: 'An invalid, expired or revoked access token',
      value: {
        detail: 'Given token not valid for any token type',
        code: 'token_not_valid',
        messages: [{ token_class: 'AccessToken', token_type: 'access', message: 'Token is invalid or expired' }]
      }
    },
    badHeader: { summary: 'A malformed Authorization header', value: { detail: 'Authorization header must contain two space-delimited values', code: 'bad_authorization_header' } },
    userInactive: { summary: 'The token\'s user is inactive', value: { detail: 'User is inactive', code: 'user_inactive' } }
  }, WWW_AUTHENTICATE)
}

/** 401 from a token view: simplejwt's InvalidToken, with the examples that apply to that view. */
export function tokenErrorResponse (description: string, cases: Array<'invalid' | 'blacklisted' | 'wrongType' | 'noActiveAccount'>) {
  const all: Record<string, Example> = {
    invalid: { summary: 'An invalid or expired token', value: { detail: 'Token is invalid or expired', code: 'token_not_valid' } },
    blacklisted: { summary: 'A blacklisted or revoked token', value: { detail: 'Token is blacklisted', code: 'token_not_valid' } },
    wrongType: { summary: 'An access token where a refresh token is due', value: { detail: 'Token has wrong type', code: 'token_not_valid' } },
    noActiveAccount: { summary: 'The token\'s user is inactive or gone', value: { detail: 'No active account found for the given token.', code: 'no_active_account' } }
  }
  return documented(TokenErrorSchema, description, Object.fromEntries(cases.map(name => [name, all[name]])), WWW_AUTHENTICATE)
}

/** The client errors every token view shares (400, 413, 415), with 400 examples naming the view's first field. */
export function bodyErrorResponses (field: string) {
  return {
    400: documented(ValidationErrorSchema, 'The body is malformed or a field is missing, blank, null or not a string.', {
      missingField: { summary: 'A field is missing', value: { [field]: ['This field is required.'] } },
      blankField: { summary: 'A field is blank', value: { [field]: ['This field may not be blank.'] } },
      notAnObject: { summary: 'The body is not an object', value: { non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] } },
      malformedJson: { summary: 'The body is not JSON', value: { detail: 'JSON parse error - Unexpected end of JSON input' } }
    }),
    413: documented(DetailSchema, 'The body is larger than 64 KiB.', {
      tooLarge: { summary: 'The body is too large', value: { detail: 'Request body is too large.' } }
    }),
    415: documented(DetailSchema, 'The Content-Type is not JSON, form-urlencoded or multipart.', {
      unsupported: { summary: 'An unsupported Content-Type', value: { detail: 'Unsupported media type "text/plain" in request.' } }
    })
  }
}

/**
 * The request content type every route with a body documents: JSON, so that every generator's
 * default client sends it. The routes also accept the same fields form-urlencoded or multipart, as
 * DRF's default parsers do (plugins/http.ts); the document's description says so.
 */
export const BODY_CONTENT_TYPES = ['application/json']

/** The OpenAPI security scheme of the access tokens, for an application's @fastify/swagger `components`. */
export const securitySchemes = {
  bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from POST /api/token/.' }
} as const
