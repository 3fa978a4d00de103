// User administration over the API, for staff only: the tutorial's Django admin (auth.User), as a DRF
// ModelViewSet with IsAdminUser, PageNumberPagination and SearchFilter(search_fields=['username']) would serve it
import type { FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ApiError, DuplicateUsername, ValidationError } from '../../src/domain/errors.js'
import { INVALID_EMAIL } from '../../src/domain/drf-fields.js'
import { canAdminister, type FlagChanges, isAdmin } from '../../src/domain/permissions.js'
import { storedUser } from '../../src/domain/authentication.js'
import { PASSWORD_MESSAGES } from '../../src/domain/password-validation.js'
import { DUPLICATE_USERNAME, MAX_USER_ID, normalizeUsername, SET_PASSWORD_FIELDS, USER_CREATE_FIELDS, USER_UPDATE_FIELDS } from '../../src/domain/users.js'
import type { User } from '../../src/db/schema.js'
import { serializer } from '../../plugins/serializer.js'
import { useComponents } from '../../plugins/components.js'
import { ADMIN_MAX_PAGE_SIZE, type AdminUser, AdminUserCreateSchema, AdminUserSchema, AdminUserUpdateSchema, IdParamsSchema, ListQuerySchema, PageSchema, SetPasswordSchema, SPIDERMAN } from '../../src/schemas/admin-users.js'
import { authenticationErrorResponse, BODY_CONTENT_TYPES, bodyErrorResponses, DetailSchema, documented, EMPTY_EXAMPLES, EmptySchema, type Example, ServiceUnavailableResponse, TokenErrorSchema, ValidationErrorSchema } from '../../src/schemas/common.js'
import { INVALID_PAGE, paginate } from './pagination.js'
import { requireUser, setUser } from '../../plugins/authenticate.js'

export const PERMISSION_DENIED = { detail: 'You do not have permission to perform this action.' }
export const NOT_FOUND = { detail: 'Not found.' }

// ---- Answers ----

function present (user: Omit<User, 'password' | 'djangoPassword'>): AdminUser {
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

const FORBIDDEN_RESPONSE = documented(DetailSchema, 'The authenticated user is not staff, or is staff but not a superuser and acts on a superuser or grants or revokes is_staff or is_superuser.', {
  permissionDenied: { summary: 'A user without is_staff, or staff acting as only a superuser may', value: PERMISSION_DENIED }
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
    400: documented(ValidationErrorSchema, description, {
      ...examples,
      notAnObject: { summary: 'The body is not an object', value: { non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] } },
      malformedJson: { summary: 'The body is not JSON', value: { detail: 'JSON parse error - Unexpected end of JSON input' } }
    })
  }
}

const COMMON = { tags: ['admin'], security: [{ bearerAuth: [] }] }
/** Django's password validators' refusal, every failing rule's message. */
const WEAK_PASSWORD_EXAMPLE = { summary: 'A password that fails the password rules', value: { password: [PASSWORD_MESSAGES.tooShort(8), PASSWORD_MESSAGES.tooCommon] } }
/** What every route may answer: no staff access token, or no database. */
const STAFF_ERRORS = { 401: UNAUTHORIZED, 403: FORBIDDEN_RESPONSE, 503: ServiceUnavailableResponse }
/** …and, for a route on one user, no such user. */
const BY_ID_ERRORS = { ...STAFF_ERRORS, 404: NOT_FOUND_RESPONSE }

const adminUserRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { users, accounts, config } = fastify.simplejwt
  useComponents(fastify, AdminUserSchema, PageSchema, EmptySchema, TokenErrorSchema, ValidationErrorSchema, DetailSchema)
  // Encapsulated guards, as on hello and revoke-all: an access token of an active staff user (DRF's IsAdminUser).
  fastify.addHook('onRequest', fastify.simplejwt.authenticate)
  fastify.addHook('onRequest', async (request) => {
    // The user as stored now, whatever the authentication mode (issue 15, finding 6): under
    // AUTH_STATELESS, fastify.authenticate knows only the token's claims, so the active flag, the
    // staff and superuser flags and the revocation cut-off are checked here against the database.
    // From the store rather than the user cache: the cache follows other instances' changes by
    // LISTEN/NOTIFY, a moment late (longer while that connection lags); an admin request is rare
    // and privileged, so one read by primary key buys a demotion or a revocation that holds at once.
    const token = requireUser(request)
    const user = await users.findById(token.id)
    const actor = storedUser(user, token.claims, config)
    if (user === undefined || !isAdmin(user)) throw new ApiError(403, PERMISSION_DENIED)
    // The handlers' actor: the stored flags, never a stateless token's (always false there).
    setUser(request, actor)
  })

  async function found (raw: string): Promise<User> {
    const user = await users.findById(userId(raw))
    if (user === undefined) throw new ApiError(404, NOT_FOUND)
    return user
  }

  /** The user with this id, when the authenticated staff user may make `changes` to it; 404 or 403 otherwise. */
  async function administered (request: FastifyRequest, raw: string, changes: FlagChanges = {}): Promise<User> {
    const target = await found(raw)
    permitted(request, target, changes)
    return target
  }

  /**
   * 403 unless the authenticated user may make `changes` to `target` (undefined: a new user). The
   * guard above has refused an inactive user already, and set request.user's flags from the store.
   */
  function permitted (request: FastifyRequest, target: User | undefined, changes: FlagChanges): void {
    if (!canAdminister({ ...requireUser(request), isActive: true }, target, changes)) throw new ApiError(403, PERMISSION_DENIED)
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
        ...STAFF_ERRORS,
        404: documented(DetailSchema, 'The page is not a number, or past the last page.', {
          invalidPage: { summary: 'No such page', value: INVALID_PAGE }
        })
      }
    }
  }, async (request) => {
    // SearchFilter.get_search_terms: terms split on spaces and commas, NULs dropped.
    const terms = (request.query.search ?? '').replaceAll('\u0000', '').replaceAll(',', ' ').split(/\s+/).filter(term => term !== '')
    const page = await paginate(request, request.query, async (limit, offset) => {
      const { count, users: results } = await users.page({ search: terms, limit, offset })
      return { count, results }
    })
    return { ...page, results: page.results.map(present) }
  })

  fastify.post('/', {
    prefixTrailingSlash: 'slash',
    preValidation: serializer(USER_CREATE_FIELDS, async (data, errors) => {
      // The unique validator runs with the field validators: a taken name is reported with the rest.
      if (typeof data.username === 'string' && await users.findByUsername(normalizeUsername(data.username)) !== undefined) errors.username = [DUPLICATE_USERNAME]
    }),
    schema: {
      ...COMMON,
      operationId: 'createUser',
      summary: 'Create a user',
      description: 'Creates a user with a password (stored as an argon2id hash, never returned), names, email and flags, as Django\'s admin does. The username must be free. Staff only; only a superuser may create a staff user or a superuser.',
      consumes: BODY_CONTENT_TYPES,
      body: AdminUserCreateSchema,
      response: {
        201: USER_RESPONSE('The new user.'),
        ...bodyErrors('A field is missing, blank, too long or invalid, the username is taken, or the password fails a rule of PASSWORD_VALIDATORS.', {
          duplicate: { summary: 'The username is taken', value: { username: [DUPLICATE_USERNAME] } },
          weakPassword: WEAK_PASSWORD_EXAMPLE,
          missing: { summary: 'No password', value: { password: ['This field is required.'] } }
        }),
        ...STAFF_ERRORS
      }
    }
  }, async (request, reply) => {
    const body = request.body
    permitted(request, undefined, { isStaff: body.is_staff, isSuperuser: body.is_superuser })
    let created: Omit<User, 'password' | 'djangoPassword'>
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
    request.log.info({ event: 'admin_user_created', by: requireUser(request).id, userId: created.id }, 'user created')
    return reply.code(201).send(present(created))
  })

  fastify.get('/:id/', {
    schema: {
      ...COMMON,
      operationId: 'getUser',
      summary: 'Read a user',
      description: 'One user by id: names, email, flags, and when they joined and last logged in; never the password hash. Staff only (superusers included: reading is not administering).',
      params: IdParamsSchema,
      response: {
        200: USER_RESPONSE('The user.'),
        ...BY_ID_ERRORS
      }
    }
  }, async (request) => present(await found(request.params.id)))

  fastify.patch('/:id/', {
    preValidation: serializer(USER_UPDATE_FIELDS),
    schema: {
      ...COMMON,
      operationId: 'updateUser',
      summary: 'Update a user',
      description: 'Changes any of first_name, last_name, email, is_active, is_staff and is_superuser; other fields are ignored (the username is fixed, the password has its own route). Setting is_active to false revokes every token of the user, as POST …/deactivate/ does, so that reactivating brings none of them back. Staff only; only a superuser may update a superuser or change is_staff or is_superuser (setting a flag to the value it has is no change).',
      consumes: BODY_CONTENT_TYPES,
      body: AdminUserUpdateSchema,
      params: IdParamsSchema,
      response: {
        200: USER_RESPONSE('The updated user.', { promoted: { summary: 'spiderman made staff', value: { ...SPIDERMAN, is_staff: true } } }),
        ...bodyErrors('A field is null, too long or invalid.', {
          notBoolean: { summary: 'A flag that is not a boolean', value: { is_staff: ['Must be a valid boolean.'] } },
          badEmail: { summary: 'An invalid email address', value: { email: [INVALID_EMAIL] } }
        }),
        ...BY_ID_ERRORS
      }
    }
  }, async (request) => {
    const body = request.body
    const changes = {
      ...(body.first_name === undefined ? {} : { firstName: body.first_name }),
      ...(body.last_name === undefined ? {} : { lastName: body.last_name }),
      ...(body.email === undefined ? {} : { email: body.email }),
      ...(body.is_active === undefined ? {} : { isActive: body.is_active }),
      ...(body.is_staff === undefined ? {} : { isStaff: body.is_staff }),
      ...(body.is_superuser === undefined ? {} : { isSuperuser: body.is_superuser })
    }
    const target = await administered(request, request.params.id, changes)
    const id = target.id
    const updated = Object.keys(changes).length === 0 ? target : await accounts.update(id, changes)
    if (updated === undefined) throw new ApiError(404, NOT_FOUND)
    request.log.info({ event: 'admin_user_updated', by: requireUser(request).id, userId: id, fields: Object.keys(changes) }, 'user updated')
    return present(updated)
  })

  fastify.post('/:id/set-password/', {
    preValidation: serializer(SET_PASSWORD_FIELDS),
    schema: {
      ...COMMON,
      operationId: 'setUserPassword',
      summary: 'Set a user\'s password',
      description: 'Replaces the user\'s password (stored as an argon2id hash) and, as the CLI\'s changepassword does, revokes every token the user holds: they must log in again with the new password. Staff only; only a superuser may act on a superuser.',
      consumes: BODY_CONTENT_TYPES,
      body: SetPasswordSchema,
      params: IdParamsSchema,
      response: {
        200: documented(EmptySchema, 'The password is set and every earlier token of the user is revoked.', EMPTY_EXAMPLES),
        ...bodyErrors('The password is missing, blank, null or too long, or fails a rule of PASSWORD_VALIDATORS.', {
          weakPassword: WEAK_PASSWORD_EXAMPLE,
          missing: { summary: 'No password', value: { password: ['This field is required.'] } },
          blank: { summary: 'A blank password', value: { password: ['This field may not be blank.'] } }
        }),
        ...BY_ID_ERRORS
      }
    }
  }, async (request) => {
    const user = await administered(request, request.params.id)
    if (await accounts.setPassword(user.id, request.body.password) === undefined) throw new ApiError(404, NOT_FOUND)
    request.log.info({ event: 'admin_password_set', by: requireUser(request).id, userId: user.id }, 'password set; tokens revoked')
    return {}
  })

  fastify.post('/:id/deactivate/', {
    schema: {
      ...COMMON,
      operationId: 'deactivateUser',
      summary: 'Deactivate a user',
      description: 'Sets is_active to false and revokes every token of the user: the user can neither log in nor use a token obtained before. PATCH is_active back to true to reactivate (old tokens stay revoked). Staff only; only a superuser may act on a superuser.',
      params: IdParamsSchema,
      response: {
        200: USER_RESPONSE('The deactivated user.', { deactivated: { summary: 'spiderman deactivated', value: { ...SPIDERMAN, is_active: false } } }),
        ...BY_ID_ERRORS
      }
    }
  }, async (request) => {
    const { id } = await administered(request, request.params.id)
    const updated = await accounts.update(id, { isActive: false })
    if (updated === undefined) throw new ApiError(404, NOT_FOUND)
    request.log.info({ event: 'admin_user_deactivated', by: requireUser(request).id, userId: id }, 'user deactivated; tokens revoked')
    return present(updated)
  })

  fastify.post('/:id/revoke-all/', {
    schema: {
      ...COMMON,
      operationId: 'revokeUserTokens',
      summary: 'Log a user out everywhere',
      description: 'Blacklists every outstanding refresh token of the user and rejects every access token issued before now, as POST /api/token/revoke-all/ does for oneself. Tokens obtained afterwards work as usual. Staff only; only a superuser may act on a superuser.',
      params: IdParamsSchema,
      response: {
        200: documented(EmptySchema, 'Every earlier token of the user is revoked.', EMPTY_EXAMPLES),
        ...BY_ID_ERRORS
      }
    }
  }, async (request) => {
    const user = await administered(request, request.params.id)
    await accounts.revokeAll(user.id)
    request.log.info({ event: 'admin_tokens_revoked', by: requireUser(request).id, userId: user.id }, 'tokens revoked')
    return {}
  })
}

export default adminUserRoutes
