"""Locking and suspending accounts (spec "Account moderation"), and who-is.

Both are reversible, unlike deactivation, and both leave the account's devices
and keys alone:

- **locked**: every request of its sessions but logout answers 401
  ``M_USER_LOCKED`` with ``soft_logout`` true, and it can't log in; the
  sessions are kept, so unlocking restores them as they were.
- **suspended**: it may read, log in, leave, redact its own events and talk to
  the organisation's admins, but not join, invite, send, create rooms or change
  its profile (403 ``M_USER_SUSPENDED``; ``services/rooms/suspension.py``).

An admin can neither lock nor suspend themselves nor another admin (the spec's
403 for "the target user is another administrator"): take the admin rights
first, which is audited on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from revier.errors import Forbidden
from revier.notify import Notifier
from revier.services.core import Actor, AuditLog, Device, Requester, Tenant, devices, users
from revier.storage import Store


@dataclass(frozen=True, slots=True)
class ModerationState:
    user_id: str
    locked: bool
    suspended: bool


class ModerationService:
    def __init__(self, store: Store, notifier: Notifier, audit: AuditLog) -> None:
        self._store = store
        self._notifier = notifier
        self._audit = audit

    async def state(
        self, tenant: Tenant, user_id: str, *, admins_too: bool = True
    ) -> ModerationState:
        """Whether an active account of the tenant is locked and suspended.
        ``admins_too`` False: another admin is refused (the spec's endpoints)."""
        async with self._store.read() as tx:
            user = await users.local_user(tx, tenant, user_id)
        if user.is_admin and not admins_too:
            raise Forbidden("The target user is an administrator")
        return ModerationState(user.user_id, user.locked, user.suspended)

    async def set_locked(self, tenant: Tenant, user_id: str, locked: bool, actor: Actor) -> None:
        await self._set(tenant, user_id, actor, locked=locked)

    async def set_suspended(
        self, tenant: Tenant, user_id: str, suspended: bool, actor: Actor
    ) -> None:
        await self._set(tenant, user_id, actor, suspended=suspended)

    async def _set(
        self,
        tenant: Tenant,
        user_id: str,
        actor: Actor,
        *,
        locked: bool | None = None,
        suspended: bool | None = None,
    ) -> None:
        what = "lock" if locked is not None else "suspend"
        if actor.name == user_id:
            raise Forbidden(f"You can't {what} or un{what} your own account")
        users.require_well_formed(user_id)  # before the row lock's query
        async with self._store.transaction() as tx:
            await users.lock(tx, user_id)
            user = await users.local_user(tx, tenant, user_id)
            if user.is_admin:
                raise Forbidden(f"{user_id} is an admin: take the admin rights first")
            if locked is not None and user.locked != locked:
                action = "user.locked" if locked else "user.unlocked"
            elif suspended is not None and user.suspended != suspended:
                action = "user.suspended" if suspended else "user.unsuspended"
            else:
                return  # as asked already: nothing to record
            await users.set_moderation(tx, user_id, locked=locked, suspended=suspended)
            await self._audit.record_as(tx, tenant, actor, action, target=user_id)
        # Cached sessions (every worker's) pick up the flag; a waiting /sync of a
        # locked account wakes and answers M_USER_LOCKED.
        self._notifier.notify(users=[user_id])

    async def whois(self, requester: Requester, user_id: str) -> tuple[list[Device], bool]:
        """GET /admin/whois/{userId}: the user's devices, for the user or an admin of
        their tenant; and whether addresses may be shown (to the user only)."""
        own = requester.user_id == user_id
        if not (own or requester.is_admin):
            raise Forbidden("Only the user and the organisation's admins may look this up")
        async with self._store.read() as tx:
            await users.local_user(tx, requester.tenant, user_id, deactivated_ok=True)
            owned = await devices.of_user(tx, user_id)
        return owned, own
