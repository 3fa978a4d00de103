// Who may administer whom through the admin API: Django's admin rule for auth.User. The admin site
// lets in active staff (AdminSite.has_permission; DRF's IsAdminUser); among them, only a superuser
// may grant or revoke superuser or staff status, or touch a superuser's account. Staff manage the
// other users only. Reading is not administering: staff see every user, superusers included, as
// Django's admin shows them to staff with the view permission.

/** What the rule needs to know of a user: whether it is active, staff, superuser. */
export interface Standing { isActive: boolean, isStaff: boolean, isSuperuser: boolean }

/** The flags a creation or an update sets; absent means unchanged (or Django's default on creation). */
export interface FlagChanges { isStaff?: boolean, isSuperuser?: boolean }

/** A user being created: Django's defaults until the changes say otherwise. */
const NEW_USER = { isStaff: false, isSuperuser: false }

/** True when `user` may use the admin API at all: active and staff (superuser or not). */
export function isAdmin (user: Standing): boolean {
  return user.isActive && user.isStaff
}

/**
 * True when `actor` may make `changes` to `target` (undefined: a user being created). A superuser
 * may do anything; other staff may neither act on a superuser (update, set its password,
 * deactivate it, revoke its tokens) nor change anyone's is_staff or is_superuser, their own
 * included. Setting a flag to the value it already has changes nothing and is allowed, so that a
 * client may send back the whole user it read.
 */
export function canAdminister (actor: Standing, target: Pick<Standing, 'isStaff' | 'isSuperuser'> | undefined, changes: FlagChanges = {}): boolean {
  if (!isAdmin(actor)) return false
  if (actor.isSuperuser) return true
  const current = target ?? NEW_USER
  if (current.isSuperuser) return false
  return (changes.isStaff ?? current.isStaff) === current.isStaff &&
    (changes.isSuperuser ?? current.isSuperuser) === current.isSuperuser
}
