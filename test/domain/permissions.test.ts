// The admin API's rule (issue 15, finding 5), without an app: only a superuser grants or revokes
// staff or superuser status or touches a superuser; staff manage the other users.
import t from 'tap'
import { canAdminister, isAdmin, type Standing } from '../../src/domain/permissions.js'

const user: Standing = { isActive: true, isStaff: false, isSuperuser: false }
const staff: Standing = { ...user, isStaff: true }
const superuser: Standing = { ...user, isStaff: true, isSuperuser: true }
/** A superuser without is_staff: Django's admin site does not let it in. */
const superuserNotStaff: Standing = { ...user, isSuperuser: true }
const inactiveStaff: Standing = { ...staff, isActive: false }
const inactiveSuperuser: Standing = { ...superuser, isActive: false }

t.test('isAdmin: active staff only, superuser or not', async t => {
  t.equal(isAdmin(staff), true)
  t.equal(isAdmin(superuser), true)
  for (const actor of [user, superuserNotStaff, inactiveStaff, inactiveSuperuser]) t.equal(isAdmin(actor), false, JSON.stringify(actor))
})

t.test('nobody who is not active staff administers anyone', async t => {
  for (const actor of [user, superuserNotStaff, inactiveStaff, inactiveSuperuser]) {
    t.equal(canAdminister(actor, user), false)
    t.equal(canAdminister(actor, undefined), false)
  }
})

t.test('a superuser may do anything to anyone', async t => {
  for (const target of [user, staff, superuser, undefined]) {
    for (const changes of [{}, { isStaff: true }, { isStaff: false }, { isSuperuser: true }, { isSuperuser: false }, { isStaff: true, isSuperuser: true }]) {
      t.equal(canAdminister(superuser, target, changes), true, `${JSON.stringify(target)} ${JSON.stringify(changes)}`)
    }
  }
})

t.test('staff: the other users\' names, email, activity, password and tokens, but no flag', async t => {
  for (const target of [user, staff, { ...user, isActive: false }]) {
    t.equal(canAdminister(staff, target), true, 'no flag changed')
    t.equal(canAdminister(staff, target, { isStaff: target.isStaff, isSuperuser: false }), true, 'the flags as they are')
    t.equal(canAdminister(staff, target, { isStaff: !target.isStaff }), false, 'is_staff granted or revoked')
    t.equal(canAdminister(staff, target, { isSuperuser: true }), false, 'is_superuser granted')
  }
  t.equal(canAdminister(staff, staff, { isSuperuser: true }), false, 'not even to oneself')
  t.equal(canAdminister(staff, staff, { isStaff: false }), false, 'nor revoking one\'s own staff status')
})

t.test('staff: creating a user, but neither staff nor superuser', async t => {
  t.equal(canAdminister(staff, undefined), true)
  t.equal(canAdminister(staff, undefined, { isStaff: false, isSuperuser: false }), true)
  t.equal(canAdminister(staff, undefined, { isStaff: true }), false)
  t.equal(canAdminister(staff, undefined, { isSuperuser: true }), false)
  t.equal(canAdminister(staff, undefined, { isSuperuser: true, isStaff: false }), false)
})

t.test('staff: nothing at all on a superuser', async t => {
  for (const target of [superuser, superuserNotStaff, inactiveSuperuser]) {
    for (const changes of [{}, { isSuperuser: true }, { isSuperuser: false }, { isStaff: target.isStaff }]) {
      t.equal(canAdminister(staff, target, changes), false, `${JSON.stringify(target)} ${JSON.stringify(changes)}`)
    }
  }
})
