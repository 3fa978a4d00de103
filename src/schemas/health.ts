// The probes' answer.
import { Type } from '@sinclair/typebox'

export const StatusSchema = Type.Object({ status: Type.String({ description: 'Always `ok`.', examples: ['ok'] }) }, { $id: 'Status', description: 'A probe\'s answer.' })
export const OK_EXAMPLES = { ok: { summary: 'Up', value: { status: 'ok' } } }
