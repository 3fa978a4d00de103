// The token views: obtain pair, refresh, verify; mirrors rest_framework_simplejwt/views.py + serializers.py
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { AuthenticationFailed, InvalidToken, TOKEN_MESSAGES } from '../src/domain/errors.js'
import { authenticateCredentials, blacklisted, orInvalid } from '../src/domain/serializers.js'
import { withSerializer } from '../plugins/serializer.js'
import { issuedBefore, isRevoked, type Claims } from '../src/domain/tokens.js'
import type { Presenter, TokenStatus } from '../src/db/tokens.js'
import { BODY_CONTENT_TYPES, bodyErrorResponses, documented, EMPTY_EXAMPLES, EmptySchema, ServiceUnavailableResponse, tokenErrorResponse } from '../src/schemas/common.js'
import { ACCESS_EXAMPLE, NEXT_ACCESS_EXAMPLE, NEXT_REFRESH_EXAMPLE, REFRESH_EXAMPLE } from '../src/schemas/examples.js'
import { LOGIN_ERROR_RESPONSES, RefreshThrottledResponse, TokenBlacklistBodySchema, TokenObtainPairBodySchema, TokenPairSchema, TokenRefreshBodySchema, TokenRefreshResponseSchema, TokenVerifyBodySchema } from '../src/schemas/token.js'

/** Who presented a token, for the reuse warning. */
function presenterOf (request: FastifyRequest): Presenter {
  return { ip: request.ip, userAgent: request.headers['user-agent'] }
}

const tokenRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { tokens, users, userCache, blacklist, refreshThrottle, config } = fastify.simplejwt
  const jtiOf = (claims: Claims) => claims[config.JTI_CLAIM] as string
  const expiresAt = (claims: Claims) => new Date((claims.exp as number) * 1000)
  fastify.addHook('onRoute', withSerializer)

  /**
   * A rotated-away refresh token came back: either a thief or the rightful client is replaying it, and
   * we cannot tell which, so the whole family goes (spec D9). Within REFRESH_REUSE_INTERVAL of the
   * rotation, a replay is taken for a client's own retry and only refused.
   */
  async function onReuse (status: TokenStatus, userId: number | undefined, request: FastifyRequest): Promise<void> {
    const row = status.blacklisted
    if (!config.REFRESH_REUSE_DETECTION || row === undefined || row.reason !== 'rotated') return
    const now = fastify.simplejwt.now()
    if (now - row.blacklistedAt.getTime() < config.REFRESH_REUSE_INTERVAL * 1000) return
    const family = status.family ?? row.jti
    const revoked = await blacklist.revokeFamily(family, userId, new Date(now), new Date(now + config.REFRESH_TOKEN_LIFETIME * 1000))
    if (revoked) {
      request.log.warn({
        event: 'refresh_token_reuse',
        userId,
        family,
        rotatedBy: { ip: row.ip, userAgent: row.userAgent },
        replayedBy: presenterOf(request)
      }, 'a rotated-away refresh token was presented again: its whole family is revoked')
    }
  }

  /** simplejwt's BlacklistMixin.check_blacklist, plus revoked families and reuse detection. */
  async function checkBlacklist (status: TokenStatus, userId: number | undefined, request: FastifyRequest): Promise<void> {
    if (!isRevoked(status)) return
    // A blacklisted token presented again may be a stolen one that was rotated away: its family goes.
    if (status.blacklisted !== undefined) await onReuse(status, userId, request)
    throw blacklisted()
  }

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
  }, async (request) => {
    const { username, password } = request.body
    const user = await authenticateCredentials(fastify.simplejwt, { username, password, ip: request.ip, log: request.log })
    const { refresh, access, refreshClaims } = tokens.obtainPair(user.id, user)
    // A login starts a family: its first token's jti names it, and every rotation inherits it.
    const jti = jtiOf(refreshClaims)
    await blacklist.outstand({ jti, userId: user.id, family: jti, createdAt: new Date(fastify.simplejwt.now()), expiresAt: expiresAt(refreshClaims) })
    if (config.UPDATE_LAST_LOGIN) await users.touchLastLogin(user.id, new Date(fastify.simplejwt.now()))
    return { refresh, access }
  })

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
  }, async (request) => {
    const raw = request.body.refresh
    const claims = orInvalid(() => tokens.validate(raw, 'refresh'))
    const userId = tokens.userId(raw, claims)
    if (userId === undefined) throw new InvalidToken(TOKEN_MESSAGES.noUser)
    // REFRESH_THROTTLE: counted per user before any lookup, whatever the outcome.
    await refreshThrottle.hit(userId)
    const jti = jtiOf(claims)
    const [status, user] = await Promise.all([blacklist.status(jti), userCache.get(userId)])
    await checkBlacklist(status, userId, request)
    // simplejwt >= 5.3 (spec D2): a deactivated or deleted user's refresh token mints nothing.
    if (user === undefined || !user.isActive) {
      throw new AuthenticationFailed('No active account found for the given token.', 'no_active_account')
    }
    if (issuedBefore(claims, user.tokensValidAfter)) throw blacklisted()

    const access = tokens.accessFrom(claims)
    if (!config.ROTATE_REFRESH_TOKENS) return { access }

    const next = tokens.rotate(claims)
    const record = {
      jti: next.jti,
      userId,
      family: status.family ?? jti,
      parentJti: jti,
      createdAt: new Date(fastify.simplejwt.now()),
      expiresAt: new Date(next.exp * 1000)
    }
    if (!config.BLACKLIST_AFTER_ROTATION) {
      await blacklist.outstand(record)
    } else if (!await blacklist.rotate({ jti, expiresAt: expiresAt(claims) }, record, presenterOf(request))) {
      // Another request rotated this token first (spec D8): it is a replay like any other.
      await checkBlacklist(await blacklist.freshStatus(jti), userId, request)
      throw blacklisted()
    }
    return { access, refresh: next.token }
  })

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
        401: tokenErrorResponse('The token is invalid, expired, blacklisted or revoked.', ['invalid', 'blacklisted']),
        503: ServiceUnavailableResponse
      }
    }
  }, async (request) => {
    const raw = request.body.token
    const claims = orInvalid(() => tokens.validate(raw))
    const userId = tokens.userId(raw, claims)
    // Only refresh tokens are ever blacklisted (by jti or family): an access token needs no lookup.
    const refreshType = claims[config.TOKEN_TYPE_CLAIM] !== 'access'
    const [status, user] = await Promise.all([
      refreshType ? blacklist.status(jtiOf(claims)) : undefined,
      userId === undefined ? undefined : userCache.get(userId)
    ])
    // Spec D1: a blacklisted token is refused with 401 whatever the settings; so is one from
    // before its user's cut-off (log out everywhere, password change, deactivation).
    if (status !== undefined && isRevoked(status)) throw blacklisted()
    if (user !== undefined && issuedBefore(claims, user.tokensValidAfter)) throw blacklisted()
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
    const raw = request.body.refresh
    const claims = orInvalid(() => tokens.validate(raw, 'refresh'))
    const jti = jtiOf(claims)
    await checkBlacklist(await blacklist.status(jti), tokens.userId(raw, claims), request)
    // Works for tokens never recorded as outstanding too (minted before the table, or by Django).
    if (!await blacklist.add(jti, 'logout', expiresAt(claims), new Date(fastify.simplejwt.now()), presenterOf(request))) throw blacklisted()
    return {}
  })
}

export default tokenRoutes
