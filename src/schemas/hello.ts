// The tutorial's protected resource: its greeting.
import { Type, type Static } from '@sinclair/typebox'

export const HelloSchema = Type.Object({
  msg: Type.String({ description: 'Hello, then the user\'s first and last name.', examples: ['Hello Peter Parker'] })
}, { $id: 'Hello', description: 'The tutorial\'s greeting.' })
export type Hello = Static<typeof HelloSchema>
