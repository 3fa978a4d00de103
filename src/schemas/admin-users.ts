// The admin routes' bodies and answers (auth.User as DRF's ModelSerializer shows it), with DRF's
// snake_case field names, its page shape and its query parameters.
import { Type, type Static } from '@sinclair/typebox'
import { CHAR_FIELD_PATTERN } from '../domain/drf-fields.js'
import { ref } from './common.js'
import { EMAIL_MAX_LENGTH, NAME_MAX_LENGTH, PASSWORD_MAX_LENGTH, USERNAME_MAX_LENGTH } from '../domain/users.js'

/** PageNumberPagination's page size when `?page_size=` is absent or not a positive integer, and its cap. */
export const ADMIN_PAGE_SIZE = 20
export const ADMIN_MAX_PAGE_SIZE = 100

export const DATE_EXAMPLE = '2026-11-29T21:41:30.000Z'

export const AdminUserSchema = Type.Object({
  id: Type.Integer({ description: 'The user id (`user_id` in tokens).', examples: [1] }),
  username: Type.String({ description: 'The username.', examples: ['spiderman'] }),
  first_name: Type.String({ description: 'First name; may be empty.', examples: ['Peter'] }),
  last_name: Type.String({ description: 'Last name; may be empty.', examples: ['Parker'] }),
  email: Type.String({ description: 'Email address; may be empty.', examples: ['peter@example.com'] }),
  is_active: Type.Boolean({ description: 'Whether the user may log in and use tokens.' }),
  is_staff: Type.Boolean({ description: 'Whether the user may use these admin routes.' }),
  is_superuser: Type.Boolean({ description: 'Django\'s superuser flag, kept for migrations.' }),
  date_joined: Type.String({ format: 'date-time', description: 'When the user was created.', examples: [DATE_EXAMPLE] }),
  last_login: Type.Unsafe<string | null>({ type: 'string', format: 'date-time', nullable: true, description: 'The last login, or null (never, or UPDATE_LAST_LOGIN off).', examples: [DATE_EXAMPLE] })
}, { $id: 'AdminUser', description: 'A user, as Django\'s admin shows it; never the password hash.' })
export type AdminUser = Static<typeof AdminUserSchema>

export const SPIDERMAN: AdminUser = {
  id: 1,
  username: 'spiderman',
  first_name: 'Peter',
  last_name: 'Parker',
  email: 'peter@example.com',
  is_active: true,
  is_staff: false,
  is_superuser: false,
  date_joined: DATE_EXAMPLE,
  last_login: null
}

export const PageSchema = Type.Object({
  count: Type.Integer({ description: 'How many users match, over all pages.', examples: [1] }),
  next: Type.Unsafe<string | null>({ type: 'string', nullable: true, description: 'The next page\'s URL, relative to the host (path and query), or null on the last page.', examples: ['/api/admin/users/?page=2'] }),
  previous: Type.Unsafe<string | null>({ type: 'string', nullable: true, description: 'The previous page\'s URL, relative to the host (path and query), or null on the first page.', examples: ['/api/admin/users/'] }),
  results: Type.Array(ref(AdminUserSchema), { description: 'This page\'s users, by id.' })
}, { $id: 'UserPage', description: 'One page of users, in Django REST framework\'s PageNumberPagination shape.' })

export const CHAR = (description: string, maxLength: number, examples: string[]) =>
  Type.String({ minLength: 1, pattern: CHAR_FIELD_PATTERN, maxLength, description, examples })
export const BLANKABLE = (description: string, maxLength: number, examples: string[]) =>
  Type.Optional(Type.String({ maxLength, description, examples }))
export const FLAG = (description: string) => Type.Optional(Type.Boolean({ description }))

export const FlagFields = {
  is_active: FLAG('Whether the user may log in (default true). DRF\'s boolean spellings are accepted: `true`, `"true"`, `"1"`, `"on"`…'),
  is_staff: FLAG('Whether the user may use these admin routes (default false).'),
  is_superuser: FLAG('Django\'s superuser flag (default false).')
}
export const NameFields = {
  first_name: BLANKABLE('First name; may be blank.', NAME_MAX_LENGTH, ['Peter']),
  last_name: BLANKABLE('Last name; may be blank.', NAME_MAX_LENGTH, ['Parker']),
  email: BLANKABLE('Email address; may be blank.', EMAIL_MAX_LENGTH, ['peter@example.com'])
}

export const AdminUserCreateSchema = Type.Object({
  username: CHAR('Letters, digits and @/./+/-/_ only; unique.', USERNAME_MAX_LENGTH, ['spiderman']),
  password: CHAR('The password; stored hashed (argon2id); surrounding whitespace is ignored, as at login.', PASSWORD_MAX_LENGTH, ['underoos']),
  ...NameFields,
  ...FlagFields
}, { examples: [{ username: 'spiderman', password: 'underoos', first_name: 'Peter', last_name: 'Parker', email: 'peter@example.com', is_active: true, is_staff: false, is_superuser: false }] })

export const AdminUserUpdateSchema = Type.Object({ ...NameFields, ...FlagFields }, {
  examples: [{ first_name: 'Peter', last_name: 'Parker', is_staff: true }]
})

export const SetPasswordSchema = Type.Object({
  password: CHAR('The new password; surrounding whitespace is ignored, as at login.', PASSWORD_MAX_LENGTH, ['with great power'])
}, { examples: [{ password: 'with great power' }] })

export const ListQuerySchema = Type.Object({
  page: Type.Optional(Type.String({ description: 'The page number, from 1, or `last`. An invalid or out-of-range page answers 404.', examples: ['1'] })),
  page_size: Type.Optional(Type.String({ description: `Users per page (default ${ADMIN_PAGE_SIZE}, at most ${ADMIN_MAX_PAGE_SIZE}); anything but a positive integer means the default.`, examples: ['20'] })),
  search: Type.Optional(Type.String({ description: 'Terms separated by spaces or commas; each must occur in the username, ignoring case.', examples: ['spider'] }))
})

export const IdParamsSchema = Type.Object({
  id: Type.String({ description: 'The user id. Anything but an existing id answers 404.', examples: ['1'] })
})
