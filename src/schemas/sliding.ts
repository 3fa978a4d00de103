// The sliding views' bodies and answers (simplejwt's TokenObtainSlidingView and TokenRefreshSlidingView).
import { Type } from '@sinclair/typebox'
import { CharField } from './common.js'
import { SLIDING_EXAMPLE } from './examples.js'

export const SlidingTokenSchema = Type.Object({
  token: Type.String({ description: 'A sliding token: sent as `Authorization: Bearer <token>` when AUTH_TOKEN_CLASSES includes `sliding`, and refreshed at POST /api/token/sliding/refresh/ until its `refresh_exp`.', examples: [SLIDING_EXAMPLE] })
}, { $id: 'SlidingToken', description: 'A sliding token.' })

export const SlidingTokenBodySchema = Type.Object({
  token: CharField('A sliding token obtained from POST /api/token/sliding/.')
}, { examples: [{ token: SLIDING_EXAMPLE }] })
