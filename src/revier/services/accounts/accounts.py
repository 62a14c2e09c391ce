"""Accounts: created only by the organisation, never by a client."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable, Iterable
from itertools import islice

from revier.errors import (
    Forbidden,
    MatrixError,
    UserInUse,
)
from revier.notify import Notifier
from revier.policy.devices import device_limit
from revier.policy.passwords import check_password
from revier.services.accounts.new_accounts import (
    ImportReport,
    NewAdmin,
    NewUser,
    OnCreated,
    UserDetails,
    checked_new_user,
)
from revier.services.accounts.sessions import remove_devices
from revier.services.core import (
    Actor,
    AuditLog,
    Clock,
    Requester,
    Tenant,
    User,
    UserInteractiveAuth,
    devices,
    hash_password,
    users,
)
from revier.services.rooms import room_members
from revier.storage import Conflict, Store, Tx


class AccountService:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        uia: UserInteractiveAuth,
        notifier: Notifier,
        audit: AuditLog,
    ) -> None:
        self._store = store
        self._clock = clock
        self._uia = uia
        self._notifier = notifier
        self._audit = audit

    async def create_user(
        self,
        tenant: Tenant,
        localpart: str,
        password: str,
        *,
        admin: bool = False,
        displayname: str | None = None,
        actor: Actor | None = None,
    ) -> User:
        """One account; ``actor`` None is the server itself (the first admin)."""
        localpart = localpart.lower()
        users.validate_localpart(tenant, localpart)
        users.validate_displayname(displayname)
        check_password(tenant.policy, password, localpart=localpart)
        user = User(
            user_id=tenant.user_id(localpart),
            tenant=tenant.server_name,
            localpart=localpart,
            password_hash=await hash_password(password),
            is_admin=admin,
            deactivated=False,
            created_ts=self._clock.time_ms(),
            displayname=displayname if displayname is not None else localpart,
            avatar_url=None,
            max_devices=None,
        )
        try:
            async with self._store.transaction() as tx:
                await users.create(tx, user)
                await self._audit_created(tx, tenant, user, actor)
        except Conflict:
            raise UserInUse(f"{user.user_id} exists already") from None
        return user

    async def create_users(
        self,
        tenant: Tenant,
        new_users: Iterable[NewUser],
        *,
        batch_size: int = 100,
        progress: Callable[[ImportReport], None] | None = None,
        actor: Actor | None = None,
        on_created: OnCreated | None = None,
    ) -> ImportReport:
        """Create many accounts: one transaction per batch, hashes computed in parallel.

        A refused entry (bad name, weak password, taken) is reported and skipped;
        the others of its batch are still created. ``progress`` is called after
        every batch.
        """
        report = ImportReport()
        # Argon2 is CPU- and memory-bound (64 MiB each): more threads than cores
        # only queue up and multiply the memory.
        limit = asyncio.Semaphore(os.cpu_count() or 2)
        it = iter(new_users)
        while batch := list(islice(it, batch_size)):
            await self._create_batch(tenant, batch, limit, report, actor, on_created)
            if progress is not None:
                progress(report)
        return report

    async def _create_batch(
        self,
        tenant: Tenant,
        batch: list[NewUser],
        limit: asyncio.Semaphore,
        report: ImportReport,
        actor: Actor | None,
        on_created: OnCreated | None,
    ) -> None:
        accepted: list[NewUser] = []
        for new in batch:
            try:
                accepted.append(checked_new_user(tenant, new))
            except MatrixError as e:
                report.failed.append((new.localpart, e.error))

        async def hashed(new: NewUser) -> str | None:
            if new.password_hash is not None or new.external:
                return new.password_hash
            assert new.password is not None  # _checked requires one of the two
            async with limit:
                return await hash_password(new.password)

        hashes = await asyncio.gather(*(hashed(new) for new in accepted))
        now = self._clock.time_ms()
        rows = [
            User(
                user_id=tenant.user_id(new.localpart),
                tenant=tenant.server_name,
                localpart=new.localpart,
                password_hash=password_hash,
                is_admin=new.admin,
                deactivated=False,
                created_ts=now,
                displayname=new.displayname if new.displayname is not None else new.localpart,
                avatar_url=None,
                max_devices=None,
            )
            for new, password_hash in zip(accepted, hashes, strict=True)
        ]
        try:
            created = await self._insert_new(tenant, rows, report, actor, on_created)
        except Conflict:  # someone else created one of them meanwhile: go one by one
            created = []
            for user in rows:
                try:
                    created += await self._insert_new(tenant, [user], report, actor, on_created)
                except Conflict:
                    report.failed.append((user.localpart, f"{user.user_id} exists already"))
        report.created += created

    async def _insert_new(
        self,
        tenant: Tenant,
        rows: list[User],
        report: ImportReport,
        actor: Actor | None,
        on_created: OnCreated | None = None,
    ) -> list[str]:
        created: list[str] = []
        refused: list[tuple[str, str]] = []
        async with self._store.transaction() as tx:
            for user in rows:
                if user.user_id in created or await users.get(tx, user.user_id) is not None:
                    refused.append((user.localpart, f"{user.user_id} exists already"))
                    continue
                await users.create(tx, user)
                await self._audit_created(tx, tenant, user, actor)
                if on_created is not None:
                    await on_created(tx, user)
                created.append(user.user_id)
        report.failed += refused  # only once the transaction committed
        return created

    async def bootstrap_admin(self, tenant: Tenant, password: str | None) -> NewAdmin | None:
        """On a tenant's first start, create its first admin; None when users exist."""
        async with self._store.read() as tx:
            if await users.count(tx, tenant) > 0:
                return None
        generated = password is None
        password = password or secrets.token_urlsafe(18)
        localpart = tenant.settings.initial_admin
        try:
            user = await self.create_user(tenant, localpart, password, admin=True)
        except UserInUse:  # another worker won the race
            return None
        return NewAdmin(user.user_id, password if generated else None)

    async def list_users(
        self,
        tenant: Tenant,
        *,
        search: str | None = None,
        deactivated: bool | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[User]:
        async with self._store.read() as tx:
            return await users.search(
                tx,
                tenant,
                search=search,
                deactivated=deactivated,
                limit=limit,
                offset=offset,
            )

    async def details(self, tenant: Tenant, user_id: str) -> UserDetails:
        async with self._store.read() as tx:
            user = await users.local_user(tx, tenant, user_id, deactivated_ok=True)
            owned = await devices.of_user(tx, user_id)
            joined = await room_members.joined_room_ids(tx, user_id)
        return UserDetails(user, owned, len(joined), device_limit(tenant.policy, user.max_devices))

    async def reset_password(
        self,
        tenant: Tenant,
        user_id: str,
        password: str,
        actor: Actor,
        *,
        logout_devices: bool = True,
    ) -> int:
        """The help desk sets a new password and (by default) ends every session of
        the user; how many devices were removed."""
        return await self._set_password(
            tenant, user_id, password, actor, logout_devices, "password.reset"
        )

    async def change_own_password(
        self, tenant: Tenant, user_id: str, password: str, actor: Actor, *, logout_devices: bool
    ) -> int:
        """The owner, whose old password the caller has checked (the account page),
        sets a new one; with ``logout_devices`` every device is signed out."""
        return await self._set_password(
            tenant, user_id, password, actor, logout_devices, "password.changed"
        )

    async def _set_password(
        self,
        tenant: Tenant,
        user_id: str,
        password: str,
        actor: Actor,
        logout_devices: bool,
        action: str,
    ) -> int:
        async with self._store.read() as tx:
            user = await users.local_user(tx, tenant, user_id, deactivated_ok=True)
        if user.deactivated:
            raise Forbidden("The account is deactivated: reactivate it with a new password")
        check_password(tenant.policy, password, localpart=user.localpart)
        password_hash = await hash_password(password)
        audience: set[str] = set()
        async with self._store.transaction() as tx:
            await users.lock(tx, user_id)
            await users.local_user(tx, tenant, user_id)  # not deactivated meanwhile
            await users.set_password_hash(tx, user_id, password_hash)
            removed: list[str] = []
            if logout_devices:
                removal = await remove_devices(tx, user_id, await devices.ids_of(tx, user_id))
                removed, audience = removal.devices, removal.wake
            await self._audit.record_as(
                tx,
                tenant,
                actor,
                action,
                target=user_id,
                details={"logout_devices": logout_devices, "devices_removed": len(removed)},
            )
        self._notifier.notify(users=audience)
        return len(removed)

    async def change_password(
        self, requester: Requester, new_password: str, *, logout_devices: bool, auth: object
    ) -> None:
        """POST /account/password: behind the current password."""
        # Bound to what the request does, not to the new password (not kept in a session).
        await self._uia.require_password(
            requester, auth, operation="change_password", params={"logout": logout_devices}
        )
        check_password(requester.tenant.policy, new_password, localpart=requester.localpart)
        password_hash = await hash_password(new_password)
        audience: set[str] = set()
        async with self._store.transaction() as tx:
            await users.set_password_hash(tx, requester.user_id, password_hash)
            removed: list[str] = []
            if logout_devices:
                others = [
                    d.device_id
                    for d in await devices.of_user(tx, requester.user_id)
                    if d.device_id != requester.device_id
                ]
                removal = await remove_devices(tx, requester.user_id, others)
                removed, audience = removal.devices, removal.wake
            await self._audit.record_as(
                tx,
                requester.tenant,
                Actor.of(requester),
                "password.changed",
                target=requester.user_id,
                details={"logout_devices": logout_devices, "devices_removed": len(removed)},
            )
        self._notifier.notify(users=audience)

    async def set_admin(self, tenant: Tenant, user_id: str, is_admin: bool, actor: Actor) -> None:
        """Grant or take a tenant's admin rights; an admin can't take their own (the
        last admin could lock the organisation out)."""
        if actor.name == user_id and not is_admin:
            raise Forbidden("You can't revoke your own admin rights; ask another admin")
        async with self._store.transaction() as tx:
            user = await users.local_user(tx, tenant, user_id, deactivated_ok=True)
            if user.is_admin == is_admin:
                return
            await users.set_admin(tx, user_id, is_admin)
            action = "user.admin_granted" if is_admin else "user.admin_revoked"
            await self._audit.record_as(tx, tenant, actor, action, target=user_id)
        self._notifier.notify(users=[user_id])  # cached sessions pick up the new flag

    async def _audit_created(self, tx: Tx, tenant: Tenant, user: User, actor: Actor | None) -> None:
        await self._audit.record(
            tx,
            tenant,
            "user.created",
            actor=actor.name if actor else None,
            target=user.user_id,
            source=actor.source if actor else None,
            details={"admin": user.is_admin},
        )
