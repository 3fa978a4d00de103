// Sliding tokens: obtain and refresh; mirrors simplejwt's TokenObtainSlidingView and TokenRefreshSlidingView
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { callerOf, withSerializer } from '../plugins/serializer.js'
import { useComponents } from '../plugins/components.js'
import { BODY_CONTENT_TYPES, bodyErrorResponses, DetailSchema, documented, EMPTY_EXAMPLES, EmptySchema, ServiceUnavailableResponse, tokenErrorResponse, TokenErrorSchema, ValidationErrorSchema, WWW_AUTHENTICATE } from '../src/schemas/common.js'
import { LOGIN_ERROR_RESPONSES, RefreshThrottledResponse, TokenObtainPairBodySchema } from '../src/schemas/token.js'
import { SlidingTokenBodySchema, SlidingTokenSchema } from '../src/schemas/sliding.js'
import { NEXT_SLIDING_EXAMPLE, SLIDING_EXAMPLE } from '../src/schemas/examples.js'

const slidingRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { serializers } = fastify.simplejwt
  fastify.addHook('onRoute', withSerializer)
  useComponents(fastify, SlidingTokenSchema, EmptySchema, TokenErrorSchema, ValidationErrorSchema, DetailSchema)

  fastify.post('/', {
    prefixTrailingSlash: 'slash',
    schema: {
      operationId: 'obtainSlidingToken',
      summary: 'Obtain a sliding token',
      description: 'Takes a set of user credentials and returns a sliding JSON web token to prove the authentication of those credentials. The token authenticates protected routes when AUTH_TOKEN_CLASSES includes `sliding`, and can be refreshed until its `refresh_exp` claim (SLIDING_TOKEN_REFRESH_LIFETIME after login).',
      tags: ['token'],
      security: [],
      consumes: BODY_CONTENT_TYPES,
      body: TokenObtainPairBodySchema,
      response: {
        200: documented(SlidingTokenSchema, 'A new sliding token.', {
          sliding: { summary: 'spiderman logged in', value: { token: SLIDING_EXAMPLE } }
        }),
        ...bodyErrorResponses('username'),
        ...LOGIN_ERROR_RESPONSES
      }
    }
  }, async (request) => serializers.obtainSliding(request.body, callerOf(request)))

  fastify.post('/refresh/', {
    schema: {
      operationId: 'refreshSlidingToken',
      summary: 'Refresh a sliding token',
      description: 'Takes a sliding JSON web token and returns a new one with a renewed expiration time (SLIDING_TOKEN_LIFETIME from now), if its `refresh_exp` claim has not passed. The new token keeps the jti and the `refresh_exp` of the one presented. Refuses blacklisted tokens, tokens revoked by log out everywhere, and inactive or deleted users.',
      tags: ['token'],
      security: [],
      consumes: BODY_CONTENT_TYPES,
      body: SlidingTokenBodySchema,
      response: {
        200: documented(SlidingTokenSchema, 'The refreshed sliding token.', {
          refreshed: { summary: 'A renewed sliding token', value: { token: NEXT_SLIDING_EXAMPLE } }
        }),
        ...bodyErrorResponses('token'),
        401: documented(TokenErrorSchema, 'The token is invalid, expired, past its `refresh_exp`, blacklisted or not a sliding token, or its user is inactive or gone.', {
          invalid: { summary: 'An invalid or expired token', value: { detail: 'Token is invalid or expired', code: 'token_not_valid' } },
          refreshExpired: { summary: 'Past refresh_exp: log in again', value: { detail: "Token 'refresh_exp' claim has expired", code: 'token_not_valid' } },
          blacklisted: { summary: 'A blacklisted or revoked token', value: { detail: 'Token is blacklisted', code: 'token_not_valid' } },
          wrongType: { summary: 'Not a sliding token', value: { detail: 'Token has wrong type', code: 'token_not_valid' } },
          noActiveAccount: { summary: 'The token\'s user is inactive or gone', value: { detail: 'No active account found for the given token.', code: 'no_active_account' } }
        }, WWW_AUTHENTICATE),
        429: RefreshThrottledResponse,
        503: ServiceUnavailableResponse
      }
    }
  }, async (request) => serializers.refreshSliding(request.body.token, callerOf(request)))

  fastify.post('/blacklist/', {
    schema: {
      operationId: 'blacklistSlidingToken',
      summary: 'Blacklist a sliding token (log out)',
      description: 'Not in simplejwt, whose blacklist view takes refresh tokens only. Takes a sliding JSON web token and blacklists it by its jti: it, and every token refreshed from it, is refused from then on by protected routes, sliding refresh and verify.',
      tags: ['token'],
      security: [],
      consumes: BODY_CONTENT_TYPES,
      body: SlidingTokenBodySchema,
      response: {
        200: documented(EmptySchema, 'The token is blacklisted.', EMPTY_EXAMPLES),
        ...bodyErrorResponses('token'),
        401: tokenErrorResponse('The token is invalid, expired, already blacklisted or not a sliding token.', ['invalid', 'blacklisted', 'wrongType']),
        503: ServiceUnavailableResponse
      }
    }
  }, async (request) => {
    await serializers.blacklistSliding(request.body.token, callerOf(request))
    return {}
  })
}

export default slidingRoutes
