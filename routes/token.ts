// The token views: obtain pair, refresh, verify; mirrors rest_framework_simplejwt/views.py + serializers.py
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { AuthenticationFailed, InvalidToken, TokenError, TOKEN_MESSAGES } from '../src/errors.js'
import { verifyDummyPassword, verifyPassword } from '../src/passwords.js'
import {
  BODY_CONTENT_TYPES, DetailSchema, EmptySchema, FieldErrorsSchema, TokenErrorSchema,
  TokenObtainPairBodySchema, TokenPairSchema, TokenRefreshBodySchema, TokenRefreshResponseSchema,
  TokenVerifyBodySchema
} from '../src/schemas.js'
import { Type } from '@sinclair/typebox'

const errors = {
  400: Type.Union([FieldErrorsSchema, DetailSchema], { description: 'The body is malformed or a field is missing, blank, null or not a string.' }),
  413: { ...DetailSchema, description: 'The body is larger than the limit.' },
  415: { ...DetailSchema, description: 'The Content-Type is not JSON, form-urlencoded or multipart.' }
}

/**
 * DRF's CharField accepts numbers and turns them into strings; JSON bodies may carry them.
 * Every other type is left for the schema to refuse in DRF's words.
 */
async function numbersAsStrings (request: FastifyRequest) {
  const body = request.body as Record<string, unknown> | undefined
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return
  for (const [key, value] of Object.entries(body)) {
    if (typeof value === 'number' && Number.isFinite(value)) body[key] = String(value)
  }
}

/** Runs a token check; a TokenError becomes simplejwt's 401 InvalidToken, as in TokenViewBase.post. */
function orInvalid<T> (check: () => T): T {
  try {
    return check()
  } catch (err) {
    if (err instanceof TokenError) throw new InvalidToken(err.message)
    throw err
  }
}

const tokenRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { tokens, users, config } = fastify
  fastify.addHook('preValidation', numbersAsStrings)

  fastify.post('/', {
    schema: {
      operationId: 'obtainTokenPair',
      summary: 'Obtain a token pair',
      description: 'Takes a set of user credentials and returns an access and refresh JSON web token pair to prove the authentication of those credentials.',
      tags: ['token'],
      consumes: BODY_CONTENT_TYPES,
      body: TokenObtainPairBodySchema,
      response: {
        200: { ...TokenPairSchema, description: 'A new refresh and access token.' },
        ...errors,
        401: { ...TokenErrorSchema, description: 'Unknown user, wrong password or inactive user: the same answer for all three.' }
      }
    }
  }, async (request) => {
    const username = request.body.username.trim()
    const password = request.body.password.trim()
    const user = await users.findByUsername(username)
    // Unknown, inactive and wrong-password logins cost the same hash and get the same answer.
    const matches = user === undefined ? await verifyDummyPassword(password) : await verifyPassword(user.password, password)
    if (user === undefined || !matches || !user.isActive) {
      throw new AuthenticationFailed('No active account found with the given credentials')
    }
    const { refresh, access } = tokens.obtainPair(user.id)
    if (config.UPDATE_LAST_LOGIN) await users.touchLastLogin(user.id, new Date(fastify.now()))
    return { refresh, access }
  })

  fastify.post('/refresh/', {
    schema: {
      operationId: 'refreshToken',
      summary: 'Refresh an access token',
      description: 'Takes a refresh type JSON web token and returns an access type JSON web token if the refresh token is valid. With ROTATE_REFRESH_TOKENS on, also returns the next refresh token.',
      tags: ['token'],
      consumes: BODY_CONTENT_TYPES,
      body: TokenRefreshBodySchema,
      response: {
        200: { ...TokenRefreshResponseSchema, description: 'A new access token (and refresh token under rotation).' },
        ...errors,
        401: { ...TokenErrorSchema, description: 'The refresh token is invalid, expired, blacklisted or not a refresh token, or its user is inactive or gone.' }
      }
    }
  }, async (request) => {
    const raw = request.body.refresh.trim()
    const claims = orInvalid(() => tokens.validate(raw, 'refresh'))
    const userId = tokens.userId(raw, claims)
    if (userId === undefined) throw new InvalidToken(TOKEN_MESSAGES.noUser)
    // simplejwt >= 5.3 (spec D2): a deactivated or deleted user's refresh token mints nothing.
    const user = await users.findById(userId)
    if (user === undefined || !user.isActive) {
      throw new AuthenticationFailed('No active account found for the given token.', 'no_active_account')
    }
    const access = tokens.accessFrom(claims)
    if (!config.ROTATE_REFRESH_TOKENS) return { access }
    return { access, refresh: tokens.rotate(claims).token }
  })

  fastify.post('/verify/', {
    schema: {
      operationId: 'verifyToken',
      summary: 'Verify a token',
      description: 'Takes a token and indicates if it is valid. This view provides no information about a token\'s fitness for a particular use.',
      tags: ['token'],
      consumes: BODY_CONTENT_TYPES,
      body: TokenVerifyBodySchema,
      response: {
        200: { ...EmptySchema, description: 'The token is valid.' },
        ...errors,
        401: { ...TokenErrorSchema, description: 'The token is invalid or expired.' }
      }
    }
  }, async (request) => {
    orInvalid(() => tokens.validate(request.body.token.trim()))
    return {}
  })
}

export default tokenRoutes
