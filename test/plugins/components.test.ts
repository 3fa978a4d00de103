// The named schemas in a route scope (plugins/components.ts): added once with what they reference,
// reused when an enclosing scope has them, refused when an application's schema of the same $id differs.
import Fastify from 'fastify'
import t from 'tap'
import { Type } from '@sinclair/typebox'
import { useComponents } from '../../plugins/components.js'
import { componentsOf } from '../../src/schemas/components.js'
import { DetailSchema, FieldErrorsSchema, ref, TokenErrorSchema, ValidationErrorSchema } from '../../src/schemas/common.js'
import { AdminUserSchema, PageSchema } from '../../src/schemas/admin-users.js'

t.test('a schema comes with the named schemas it references', async t => {
  t.same(componentsOf([ValidationErrorSchema]).map(schema => schema.$id), ['ValidationError', 'FieldErrors', 'Detail'])
  t.same(componentsOf([PageSchema, AdminUserSchema]).map(schema => schema.$id), ['UserPage', 'AdminUser'])
  t.match(ref(TokenErrorSchema), { $ref: 'TokenError' })
  t.throws(() => ref(Type.Object({})), /no \$id/)
  t.throws(() => componentsOf([Type.Object({})]), /without \$id/)
  t.throws(() => componentsOf([Type.Object({ x: Type.Ref('Nowhere') }, { $id: 'Lost' })]), /Lost references Nowhere/)
})

t.test('sibling scopes each add them; a scope inside one that has them reuses them', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(async scope => {
    useComponents(scope, TokenErrorSchema, ValidationErrorSchema)
    scope.register(async inner => {
      useComponents(inner, DetailSchema, FieldErrorsSchema)
      t.same(Object.keys(inner.getSchemas()).sort(), ['Detail', 'FieldErrors', 'TokenError', 'ValidationError'])
    })
  })
  app.register(async sibling => {
    useComponents(sibling, DetailSchema)
    t.same(Object.keys(sibling.getSchemas()), ['Detail'])
  })
  await app.ready()
  t.same(app.getSchemas(), {}, 'the application\'s own scope is untouched')
})

t.test('an application schema of the same $id that differs stops start-up', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.addSchema({ $id: 'Detail', type: 'object', properties: { message: { type: 'string' } } })
  app.register(async scope => { useComponents(scope, DetailSchema) })
  await t.rejects(async () => { await app.ready() }, /names a schema "Detail".*the application has a different one/)
})
