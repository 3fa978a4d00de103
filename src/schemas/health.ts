// The probes' answer.
import { Type } from '@sinclair/typebox'

export const StatusSchema = Type.Object({ status: Type.String({ description: 'Always `ok`.', examples: ['ok'] }) })
export const OK_EXAMPLES = { ok: { summary: 'Up', value: { status: 'ok' } } }
