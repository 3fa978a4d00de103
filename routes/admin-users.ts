// User administration over the API, for staff only: the tutorial's Django admin (auth.User), as a DRF
// ModelViewSet with IsAdminUser, PageNumberPagination and SearchFilter(search_fields=['username']) would serve it
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import { ApiError, ValidationError } from '../src/domain/errors.js'
import { pythonStrip } from '../src/domain/drf-fields.js'
import { rawMemberValue } from '../src/domain/tokens.js'
import { rawBody } from '../plugins/http.js'
import { DuplicateUsername } from '../src/domain/errors.js'
import { EMAIL_MAX_LENGTH, MAX_USER_ID, NAME_MAX_LENGTH } from '../src/domain/users.js'
import type { User } from '../src/db/schema.js'
import { ADMIN_MAX_PAGE_SIZE, ADMIN_PAGE_SIZE, type AdminUser, AdminUserCreateSchema, AdminUserSchema, AdminUserUpdateSchema, IdParamsSchema, ListQuerySchema, PageSchema, SetPasswordSchema, SPIDERMAN } from '../src/schemas/admin-users.js'
import { authenticationErrorResponse, BODY_CONTENT_TYPES, bodyErrorResponses, DetailSchema, documented, EMPTY_EXAMPLES, EmptySchema, type Example, FieldErrorsSchema, PASSWORD_MAX_LENGTH, ServiceUnavailableResponse, USERNAME_MAX_LENGTH } from '../src/schemas/common.js'

export const PERMISSION_DENIED = { detail: 'You do not have permission to perform this action.' }
export const NOT_FOUND = { detail: 'Not found.' }
export const INVALID_PAGE = { detail: 'Invalid page.' }
export const DUPLICATE_USERNAME = 'A user with that username already exists.'
export const INVALID_USERNAME = 'Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.'
export const INVALID_EMAIL = 'Enter a valid email address.'

// Django's UnicodeUsernameValidator (Python's \w is letters, digits and the underscore), and a
// close approximation of its EmailValidator.
const USERNAME_RE = /^[\p{L}\p{N}_.@+-]+$/u
const EMAIL_RE = /^[^\s@"(),:;<>[\\\]]+@(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+\p{L}{2,63}$/u
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

// DRF's BooleanField.TRUE_VALUES and FALSE_VALUES.
const TRUE_VALUES = new Set<unknown>(['t', 'T', 'y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON', '1', 1, true])
const FALSE_VALUES = new Set<unknown>(['f', 'F', 'n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF', '0', 0, false])

// ---- DRF's serializer, field by field ----

type FieldKind = 'username' | 'password' | 'name' | 'email' | 'flag'
interface FieldSpec { kind: FieldKind, required: boolean }

const CREATE_FIELDS: Record<string, FieldSpec> = {
  username: { kind: 'username', required: true },
  password: { kind: 'password', required: true },
  first_name: { kind: 'name', required: false },
  last_name: { kind: 'name', required: false },
  email: { kind: 'email', required: false },
  is_active: { kind: 'flag', required: false },
  is_staff: { kind: 'flag', required: false },
  is_superuser: { kind: 'flag', required: false }
}
const UPDATE_FIELDS = Object.fromEntries(Object.entries(CREATE_FIELDS).filter(([name]) => name !== 'username' && name !== 'password'))
const PASSWORD_FIELDS: Record<string, FieldSpec> = { password: { kind: 'password', required: true } }

const MAX_LENGTH: Record<FieldKind, number> = { username: USERNAME_MAX_LENGTH, password: PASSWORD_MAX_LENGTH, name: NAME_MAX_LENGTH, email: EMAIL_MAX_LENGTH, flag: 0 }

/** Python's str() of a JSON number: 1 → "1", 1.0 → "1.0". */
function numberText (value: number, literal: string | undefined): string {
  if (literal !== undefined && /[.eE]/.test(literal) && Number.isInteger(value) && Math.abs(value) < 1e16) return `${value}.0`
  return String(value)
}

/** DRF's first complaint about one value, or the clean value. */
function cleanField (value: unknown, spec: FieldSpec, literal: string | undefined): { error: string } | { value: string | boolean } {
  if (value === null) return { error: 'This field may not be null.' }
  if (spec.kind === 'flag') {
    if (TRUE_VALUES.has(value)) return { value: true }
    if (FALSE_VALUES.has(value)) return { value: false }
    return { error: 'Must be a valid boolean.' }
  }
  if (typeof value === 'number' && Number.isFinite(value)) value = numberText(value, literal)
  if (typeof value !== 'string') return { error: 'Not a valid string.' }
  const text = pythonStrip(value)
  const blankable = spec.kind === 'name' || spec.kind === 'email'
  if (text === '') return blankable ? { value: '' } : { error: 'This field may not be blank.' }
  if (text.length > MAX_LENGTH[spec.kind]) return { error: `Ensure this field has no more than ${MAX_LENGTH[spec.kind]} characters.` }
  if (text.includes('\u0000')) return { error: 'Null characters are not allowed.' }
  const surrogate = LONE_SURROGATE.exec(text)
  if (surrogate !== null) return { error: `Surrogate characters are not allowed: U+${surrogate[0].charCodeAt(0).toString(16).toUpperCase()}.` }
  if (spec.kind === 'username' && !USERNAME_RE.test(text)) return { error: INVALID_USERNAME }
  if (spec.kind === 'email' && !EMAIL_RE.test(text)) return { error: INVALID_EMAIL }
  return { value: text }
}

/**
 * Runs a ModelSerializer's fields over the raw body (JSON, form or multipart) as DRF does: the body
 * must be a dictionary, unknown keys are ignored, every failing field is reported in DRF's words.
 */
function cleanBody (request: FastifyRequest, fields: Record<string, FieldSpec>): { clean: Record<string, string | boolean>, errors: Record<string, string[]> } {
  const { body, form, jsonText } = rawBody(request)
  if (body === null) throw new ValidationError({ non_field_errors: ['No data provided'] })
  const data = body === undefined ? {} : body
  if (typeof data !== 'object' || Array.isArray(data)) {
    const type = Array.isArray(data) ? 'list' : typeof data === 'number' ? (Number.isInteger(data) && !/[.eE]/.test(jsonText ?? '') ? 'int' : 'float') : typeof data === 'boolean' ? 'bool' : 'str'
    throw new ValidationError({ non_field_errors: [`Invalid data. Expected a dictionary, but got ${type}.`] })
  }
  const errors: Record<string, string[]> = {}
  const clean: Record<string, string | boolean> = {}
  for (const [name, spec] of Object.entries(fields)) {
    let value = (data as Record<string, unknown>)[name]
    // Django's QueryDict.get(): the last of repeated form keys.
    if (form && Array.isArray(value)) value = value.at(-1)
    if (value === undefined) {
      if (spec.required) errors[name] = ['This field is required.']
      continue
    }
    const result = cleanField(value, spec, jsonText === undefined ? undefined : rawMemberValue(jsonText, name))
    if ('error' in result) errors[name] = [result.error]
    else clean[name] = result.value
  }
  return { clean, errors }
}

/** A preValidation hook that replaces the body with the serializer's clean data (the schema then checks that). */
const serializer = (fields: Record<string, FieldSpec>, unique?: (username: string) => Promise<boolean>) => async (request: FastifyRequest) => {
  const { clean, errors } = cleanBody(request, fields)
  // The unique validator runs with the field validators: a taken name is reported with the rest.
  if (unique !== undefined && typeof clean.username === 'string' && !await unique(clean.username)) {
    errors.username = [DUPLICATE_USERNAME]
  }
  if (Object.keys(errors).length > 0) throw new ValidationError(errors)
  request.body = clean
}

// ---- Answers ----

function present (user: User): AdminUser {
  return {
    id: user.id,
    username: user.username,
    first_name: user.firstName,
    last_name: user.lastName,
    email: user.email,
    is_active: user.isActive,
    is_staff: user.isStaff,
    is_superuser: user.isSuperuser,
    date_joined: user.dateJoined.toISOString(),
    last_login: user.lastLogin === null ? null : user.lastLogin.toISOString()
  }
}

/** The id in the path, or 404 as DRF's get_object_or_404 answers for anything that is not one. */
function userId (raw: string): number {
  const id = /^\d{1,10}$/.test(raw) ? Number(raw) : NaN
  if (!Number.isSafeInteger(id) || id < 1 || id > MAX_USER_ID) throw new ApiError(404, NOT_FOUND)
  return id
}

/** Python's int() of a query value, or undefined. */
function parseInteger (value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*[+-]?\d+\s*$/.test(value)) return undefined
  const n = Number(value.trim())
  return Number.isSafeInteger(n) ? n : undefined
}

/** DRF's replace_query_param / remove_query_param: the request's absolute URL, keys sorted. */
function pageUrl (request: FastifyRequest, page: number | undefined): string {
  const url = new URL(request.url, `${request.protocol}://${request.host}`)
  if (page === undefined) url.searchParams.delete('page')
  else url.searchParams.set('page', String(page))
  url.searchParams.sort()
  return url.toString()
}

const FORBIDDEN_RESPONSE = documented(DetailSchema, 'The authenticated user is not staff.', {
  permissionDenied: { summary: 'A user without is_staff', value: PERMISSION_DENIED }
})
const NOT_FOUND_RESPONSE = documented(DetailSchema, 'No user has this id.', {
  notFound: { summary: 'An unknown id', value: NOT_FOUND }
})
const UNAUTHORIZED = authenticationErrorResponse('No credentials, a malformed header, an invalid, expired or revoked token, or an unknown or inactive user.')
const USER_RESPONSE = (description: string, examples: Record<string, Example> = { user: { summary: 'spiderman', value: SPIDERMAN } }) =>
  documented(AdminUserSchema, description, examples)

/** 400, 413 and 415 for a route that takes a body, with its own 400 examples. */
function bodyErrors (description: string, examples: Record<string, Example>) {
  return {
    ...bodyErrorResponses('password'),
    400: documented(Type.Union([FieldErrorsSchema, DetailSchema]), description, {
      ...examples,
      notAnObject: { summary: 'The body is not an object', value: { non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] } },
      malformedJson: { summary: 'The body is not JSON', value: { detail: 'JSON parse error - Unexpected end of JSON input' } }
    })
  }
}

const COMMON = { tags: ['admin'], security: [{ bearerAuth: [] }] }

const adminUserRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { users, accounts } = fastify.simplejwt
  // Encapsulated guards, as on hello and revoke-all: an access token of an active staff user (DRF's IsAdminUser).
  fastify.addHook('onRequest', fastify.authenticate)
  fastify.addHook('onRequest', async (request) => {
    // From the user cache rather than request.user, so that stateless authentication (which knows
    // only the token's claims) is checked against the user as stored too.
    const user = await fastify.simplejwt.userCache.get(request.user.id)
    if (user?.isActive !== true || !user.isStaff) throw new ApiError(403, PERMISSION_DENIED)
  })

  async function found (raw: string): Promise<User> {
    const user = await users.findById(userId(raw))
    if (user === undefined) throw new ApiError(404, NOT_FOUND)
    return user
  }

  fastify.get('/', {
    prefixTrailingSlash: 'slash',
    schema: {
      ...COMMON,
      operationId: 'listUsers',
      summary: 'List users',
      description: `Every user, by id, one page at a time (\`?page=\`, \`?page_size=\` up to ${ADMIN_MAX_PAGE_SIZE}), optionally filtered by \`?search=\` on the username. Staff only.`,
      querystring: ListQuerySchema,
      response: {
        200: documented(PageSchema, 'One page of users.', {
          page: { summary: 'The first page', value: { count: 1, next: null, previous: null, results: [SPIDERMAN] } }
        }),
        400: documented(DetailSchema, 'A query parameter was given more than once.', {
          invalid: { summary: 'A repeated query parameter', value: { detail: 'Invalid request.' } }
        }),
        401: UNAUTHORIZED,
        403: FORBIDDEN_RESPONSE,
        404: documented(DetailSchema, 'The page is not a number, or past the last page.', {
          invalidPage: { summary: 'No such page', value: INVALID_PAGE }
        }),
        503: ServiceUnavailableResponse
      }
    }
  }, async (request) => {
    const { page: rawPage, page_size: rawSize, search = '' } = request.query
    const requestedSize = parseInteger(rawSize)
    const size = requestedSize === undefined || requestedSize < 1 ? ADMIN_PAGE_SIZE : Math.min(requestedSize, ADMIN_MAX_PAGE_SIZE)
    const terms = search.replaceAll('\u0000', '').replaceAll(',', ' ').split(/\s+/).filter(term => term !== '')
    // Django's Paginator: pages from 1, "last", and an empty first page is still a page.
    let page = rawPage === undefined ? 1 : rawPage === 'last' ? undefined : parseInteger(rawPage)
    if ((rawPage !== undefined && rawPage !== 'last' && page === undefined) || (page !== undefined && page < 1)) throw new ApiError(404, INVALID_PAGE)
    let result = await users.page({ search: terms, limit: size, offset: ((page ?? 1) - 1) * size })
    const pages = Math.max(1, Math.ceil(result.count / size))
    if (page === undefined) {
      page = pages
      result = await users.page({ search: terms, limit: size, offset: (page - 1) * size })
    }
    if (page < 1 || page > pages) throw new ApiError(404, INVALID_PAGE)
    return {
      count: result.count,
      next: page < pages ? pageUrl(request, page + 1) : null,
      previous: page > 1 ? pageUrl(request, page === 2 ? undefined : page - 1) : null,
      results: result.users.map(present)
    }
  })

  fastify.post('/', {
    prefixTrailingSlash: 'slash',
    preValidation: serializer(CREATE_FIELDS, async (username) => await users.findByUsername(username) === undefined),
    schema: {
      ...COMMON,
      operationId: 'createUser',
      summary: 'Create a user',
      description: 'Creates a user with a password (stored as an argon2id hash, never returned), names, email and flags, as Django\'s admin does. The username must be free. Staff only.',
      consumes: BODY_CONTENT_TYPES,
      body: AdminUserCreateSchema,
      response: {
        201: USER_RESPONSE('The new user.'),
        ...bodyErrors('A field is missing, blank, too long or invalid, or the username is taken.', {
          duplicate: { summary: 'The username is taken', value: { username: [DUPLICATE_USERNAME] } },
          missing: { summary: 'No password', value: { password: ['This field is required.'] } }
        }),
        401: UNAUTHORIZED,
        403: FORBIDDEN_RESPONSE,
        503: ServiceUnavailableResponse
      }
    }
  }, async (request, reply) => {
    const body = request.body
    let created: User
    try {
      created = await accounts.create({
        username: body.username,
        password: body.password,
        firstName: body.first_name ?? '',
        lastName: body.last_name ?? '',
        email: body.email ?? '',
        isActive: body.is_active ?? true,
        isStaff: body.is_staff ?? false,
        isSuperuser: body.is_superuser ?? false
      })
    } catch (err) {
      if (err instanceof DuplicateUsername) throw new ValidationError({ username: [DUPLICATE_USERNAME] })
      throw err
    }
    request.log.info({ event: 'admin_user_created', by: request.user.id, userId: created.id }, 'user created')
    return reply.code(201).send(present(created))
  })

  fastify.get('/:id/', {
    schema: {
      ...COMMON,
      operationId: 'getUser',
      summary: 'Read a user',
      description: 'One user by id: names, email, flags, and when they joined and last logged in; never the password hash. Staff only.',
      params: IdParamsSchema,
      response: {
        200: USER_RESPONSE('The user.'),
        401: UNAUTHORIZED,
        403: FORBIDDEN_RESPONSE,
        404: NOT_FOUND_RESPONSE,
        503: ServiceUnavailableResponse
      }
    }
  }, async (request) => present(await found(request.params.id)))

  fastify.patch('/:id/', {
    preValidation: serializer(UPDATE_FIELDS),
    schema: {
      ...COMMON,
      operationId: 'updateUser',
      summary: 'Update a user',
      description: 'Changes any of first_name, last_name, email, is_active, is_staff and is_superuser; other fields are ignored (the username is fixed, the password has its own route). Setting is_active to false revokes every token of the user, as POST …/deactivate/ does, so that reactivating brings none of them back. Staff only.',
      consumes: BODY_CONTENT_TYPES,
      body: AdminUserUpdateSchema,
      params: IdParamsSchema,
      response: {
        200: USER_RESPONSE('The updated user.', { promoted: { summary: 'spiderman made staff', value: { ...SPIDERMAN, is_staff: true } } }),
        ...bodyErrors('A field is null, too long or invalid.', {
          notBoolean: { summary: 'A flag that is not a boolean', value: { is_staff: ['Must be a valid boolean.'] } },
          badEmail: { summary: 'An invalid email address', value: { email: [INVALID_EMAIL] } }
        }),
        401: UNAUTHORIZED,
        403: FORBIDDEN_RESPONSE,
        404: NOT_FOUND_RESPONSE,
        503: ServiceUnavailableResponse
      }
    }
  }, async (request) => {
    const id = userId(request.params.id)
    const body = request.body
    const changes = {
      ...(body.first_name === undefined ? {} : { firstName: body.first_name }),
      ...(body.last_name === undefined ? {} : { lastName: body.last_name }),
      ...(body.email === undefined ? {} : { email: body.email }),
      ...(body.is_active === undefined ? {} : { isActive: body.is_active }),
      ...(body.is_staff === undefined ? {} : { isStaff: body.is_staff }),
      ...(body.is_superuser === undefined ? {} : { isSuperuser: body.is_superuser })
    }
    const updated = Object.keys(changes).length === 0 ? await users.findById(id) : await accounts.update(id, changes)
    if (updated === undefined) throw new ApiError(404, NOT_FOUND)
    request.log.info({ event: 'admin_user_updated', by: request.user.id, userId: id, fields: Object.keys(changes) }, 'user updated')
    return present(updated)
  })

  fastify.post('/:id/set-password/', {
    preValidation: serializer(PASSWORD_FIELDS),
    schema: {
      ...COMMON,
      operationId: 'setUserPassword',
      summary: 'Set a user\'s password',
      description: 'Replaces the user\'s password (stored as an argon2id hash) and, as the CLI\'s changepassword does, revokes every token the user holds: they must log in again with the new password. Staff only.',
      consumes: BODY_CONTENT_TYPES,
      body: SetPasswordSchema,
      params: IdParamsSchema,
      response: {
        200: documented(EmptySchema, 'The password is set and every earlier token of the user is revoked.', EMPTY_EXAMPLES),
        ...bodyErrors('The password is missing, blank, null or too long.', {
          missing: { summary: 'No password', value: { password: ['This field is required.'] } },
          blank: { summary: 'A blank password', value: { password: ['This field may not be blank.'] } }
        }),
        401: UNAUTHORIZED,
        403: FORBIDDEN_RESPONSE,
        404: NOT_FOUND_RESPONSE,
        503: ServiceUnavailableResponse
      }
    }
  }, async (request) => {
    const user = await found(request.params.id)
    if (await accounts.setPassword(user.id, request.body.password) === undefined) throw new ApiError(404, NOT_FOUND)
    request.log.info({ event: 'admin_password_set', by: request.user.id, userId: user.id }, 'password set; tokens revoked')
    return {}
  })

  fastify.post('/:id/deactivate/', {
    schema: {
      ...COMMON,
      operationId: 'deactivateUser',
      summary: 'Deactivate a user',
      description: 'Sets is_active to false and revokes every token of the user: the user can neither log in nor use a token obtained before. PATCH is_active back to true to reactivate (old tokens stay revoked). Staff only.',
      params: IdParamsSchema,
      response: {
        200: USER_RESPONSE('The deactivated user.', { deactivated: { summary: 'spiderman deactivated', value: { ...SPIDERMAN, is_active: false } } }),
        401: UNAUTHORIZED,
        403: FORBIDDEN_RESPONSE,
        404: NOT_FOUND_RESPONSE,
        503: ServiceUnavailableResponse
      }
    }
  }, async (request) => {
    const id = userId(request.params.id)
    const updated = await accounts.update(id, { isActive: false })
    if (updated === undefined) throw new ApiError(404, NOT_FOUND)
    request.log.info({ event: 'admin_user_deactivated', by: request.user.id, userId: id }, 'user deactivated; tokens revoked')
    return present(updated)
  })

  fastify.post('/:id/revoke-all/', {
    schema: {
      ...COMMON,
      operationId: 'revokeUserTokens',
      summary: 'Log a user out everywhere',
      description: 'Blacklists every outstanding refresh token of the user and rejects every access token issued before now, as POST /api/token/revoke-all/ does for oneself. Tokens obtained afterwards work as usual. Staff only.',
      params: IdParamsSchema,
      response: {
        200: documented(EmptySchema, 'Every earlier token of the user is revoked.', EMPTY_EXAMPLES),
        401: UNAUTHORIZED,
        403: FORBIDDEN_RESPONSE,
        404: NOT_FOUND_RESPONSE,
        503: ServiceUnavailableResponse
      }
    }
  }, async (request) => {
    const user = await found(request.params.id)
    await accounts.revokeAll(user.id)
    request.log.info({ event: 'admin_tokens_revoked', by: request.user.id, userId: user.id }, 'tokens revoked')
    return {}
  })
}

export default adminUserRoutes
