// The token views: obtain pair, refresh, verify; mirrors rest_framework_simplejwt/views.py + serializers.py
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { callerOf, withSerializer } from '../plugins/serializer.js'
import { useComponents } from '../plugins/components.js'
import { BODY_CONTENT_TYPES, bodyErrorResponses, DetailSchema, documented, EMPTY_EXAMPLES, EmptySchema, ServiceUnavailableResponse, tokenErrorResponse, TokenErrorSchema, ValidationErrorSchema } from '../src/schemas/common.js'
import { ACCESS_EXAMPLE, NEXT_ACCESS_EXAMPLE, NEXT_REFRESH_EXAMPLE, REFRESH_EXAMPLE } from '../src/schemas/examples.js'
import { LOGIN_ERROR_RESPONSES, RefreshThrottledResponse, TokenBlacklistBodySchema, TokenObtainPairBodySchema, TokenPairSchema, TokenRefreshBodySchema, TokenRefreshResponseSchema, TokenVerifyBodySchema } from '../src/schemas/token.js'

const tokenRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { serializers } = fastify.simplejwt
  fastify.addHook('onRoute', withSerializer)
  useComponents(fastify, TokenPairSchema, TokenRefreshResponseSchema, EmptySchema, TokenErrorSchema, ValidationErrorSchema, DetailSchema)

  fastify.post('/', {
    // Documented as simplejwt spells it; ignoreTrailingSlash answers the slash-less form too.
    prefixTrailingSlash: 'slash',
    schema: {
      operationId: 'obtainTokenPair',
      summary: 'Obtain a token pair',
      description: 'Takes a set of user credentials and returns an access and refresh JSON web token pair to prove the authentication of those credentials.',
      tags: ['token'],
      security: [],
      consumes: BODY_CONTENT_TYPES,
      body: TokenObtainPairBodySchema,
      response: {
        200: documented(TokenPairSchema, 'A new refresh and access token.', {
          tokenPair: { summary: 'spiderman logged in', value: { refresh: REFRESH_EXAMPLE, access: ACCESS_EXAMPLE } }
        }),
        ...bodyErrorResponses('username'),
        ...LOGIN_ERROR_RESPONSES
      }
    }
  }, async (request) => serializers.obtainPair(request.body, callerOf(request)))

  fastify.post('/refresh/', {
    schema: {
      operationId: 'refreshToken',
      summary: 'Refresh an access token',
      description: 'Takes a refresh type JSON web token and returns an access type JSON web token if the refresh token is valid. With ROTATE_REFRESH_TOKENS on, also returns the next refresh token.',
      tags: ['token'],
      security: [],
      consumes: BODY_CONTENT_TYPES,
      body: TokenRefreshBodySchema,
      response: {
        200: documented(TokenRefreshResponseSchema, 'A new access token (and refresh token under rotation).', {
          access: { summary: 'A new access token', value: { access: NEXT_ACCESS_EXAMPLE } },
          rotated: { summary: 'Under ROTATE_REFRESH_TOKENS: the next refresh token too', value: { access: NEXT_ACCESS_EXAMPLE, refresh: NEXT_REFRESH_EXAMPLE } }
        }),
        ...bodyErrorResponses('refresh'),
        401: tokenErrorResponse('The refresh token is invalid, expired, blacklisted or not a refresh token, or its user is inactive or gone.', ['invalid', 'blacklisted', 'wrongType', 'noActiveAccount']),
        429: RefreshThrottledResponse,
        503: ServiceUnavailableResponse
      }
    }
  }, async (request) => serializers.refresh(request.body.refresh, callerOf(request)))

  fastify.post('/verify/', {
    schema: {
      operationId: 'verifyToken',
      summary: 'Verify a token',
      description: 'Takes a token and indicates if it is valid. This view provides no information about a token\'s fitness for a particular use.',
      tags: ['token'],
      security: [],
      consumes: BODY_CONTENT_TYPES,
      body: TokenVerifyBodySchema,
      response: {
        200: documented(EmptySchema, 'The token is valid.', EMPTY_EXAMPLES),
        ...bodyErrorResponses('token'),
        401: tokenErrorResponse('The token is invalid, expired, blacklisted or revoked, or its user is inactive.', ['invalid', 'blacklisted', 'noActiveAccount']),
        503: ServiceUnavailableResponse
      }
    }
  }, async (request) => {
    await serializers.verify(request.body.token)
    return {}
  })

  fastify.post('/blacklist/', {
    schema: {
      operationId: 'blacklistToken',
      summary: 'Blacklist a refresh token (log out)',
      description: 'Takes a refresh type JSON web token and adds it to the blacklist, so that it can no longer be refreshed. Blacklisting a token that was already rotated away revokes its whole family.',
      tags: ['token'],
      security: [],
      consumes: BODY_CONTENT_TYPES,
      body: TokenBlacklistBodySchema,
      response: {
        200: documented(EmptySchema, 'The token is blacklisted.', EMPTY_EXAMPLES),
        ...bodyErrorResponses('refresh'),
        401: tokenErrorResponse('The token is invalid, expired, already blacklisted or not a refresh token.', ['invalid', 'blacklisted', 'wrongType']),
        503: ServiceUnavailableResponse
      }
    }
  }, async (request) => {
    await serializers.blacklist(request.body.refresh, callerOf(request))
    return {}
  })
}

export default tokenRoutes
