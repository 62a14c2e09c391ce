"""Accounts: created only by the organisation, never by a client."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice

from revier.errors import (
    Forbidden,
    InvalidParam,
    InvalidUsername,
    MatrixError,
    NotFound,
    UserInUse,
)
from revier.events.identifiers import is_valid_user_id
from revier.notify import Notifier
from revier.policy.devices import device_limit
from revier.policy.passwords import check_password
from revier.services.audit import Actor, AuditLog
from revier.services.clock import Clock
from revier.services.devices import remove_devices
from revier.services.passwords import hash_password, is_argon2_hash
from revier.services.requester import Requester
from revier.services.tenants import Tenant
from revier.services.uia import UserInteractiveAuth
from revier.storage import Conflict, Store, Tx
from revier.storage.accounts import User
from revier.storage.devices import Device

_LOCALPART_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._=-/+")
MAX_DISPLAYNAME_LENGTH = 256


@dataclass(frozen=True, slots=True)
class NewAdmin:
    user_id: str
    password: str | None  # set when it was generated and must be shown once


@dataclass(frozen=True, slots=True)
class NewUser:
    """One account of a bulk import: a password, or an Argon2 hash from a former system."""

    localpart: str
    password: str | None = None
    password_hash: str | None = None
    displayname: str | None = None
    admin: bool = False


@dataclass(frozen=True, slots=True)
class UserDetails:
    """What an admin sees of one account: never content, never addresses."""

    user: User
    devices: list[Device]
    joined_rooms_count: int
    device_limit: int  # the effective one: the user's own, else the tenant's


@dataclass(slots=True)
class ImportReport:
    """What a bulk import did so far: user IDs created, and (localpart, reason) refused."""

    created: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def validate_localpart(tenant: Tenant, localpart: str) -> None:
    """The spec's user ID grammar for new accounts (appendix "User Identifiers")."""
    if not localpart or not set(localpart) <= _LOCALPART_CHARS:
        raise InvalidUsername(
            "User names may only contain a-z, 0-9 and . _ = - / +",
        )
    if len(tenant.user_id(localpart).encode("utf-8")) > 255:
        raise InvalidUsername("The user ID would be longer than 255 bytes")


def validate_displayname(displayname: str | None) -> None:
    if displayname is None:
        return
    if len(displayname) > MAX_DISPLAYNAME_LENGTH:
        raise InvalidParam(f"A display name may be at most {MAX_DISPLAYNAME_LENGTH} characters")
    if "\x00" in displayname:  # PostgreSQL text can't hold it, and no name needs it
        raise InvalidParam("A display name must not contain NUL characters")


async def local_user(tx: Tx, tenant: Tenant, user_id: str, *, deactivated_ok: bool = False) -> User:
    """An account of this tenant (active unless ``deactivated_ok``); anything else is
    "no such user", so nothing about other tenants or closed accounts leaks."""
    require_well_formed(user_id)
    user = await tx.users.get(user_id)
    if (
        user is None
        or user.tenant != tenant.server_name
        or (user.deactivated and not deactivated_ok)
    ):
        raise _no_such_user(user_id)
    return user


def require_well_formed(user_id: str) -> None:
    """Refuse a malformed ID before it reaches a query (PostgreSQL text can't even
    hold a NUL byte): it is no one's."""
    if not is_valid_user_id(user_id):
        raise _no_such_user(user_id)


def _no_such_user(user_id: str) -> NotFound:
    return NotFound(f"No user {user_id} in this organisation")


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
        validate_localpart(tenant, localpart)
        validate_displayname(displayname)
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
                await tx.users.create(user)
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
            await self._create_batch(tenant, batch, limit, report, actor)
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
    ) -> None:
        accepted: list[NewUser] = []
        for new in batch:
            try:
                accepted.append(_checked(tenant, new))
            except MatrixError as e:
                report.failed.append((new.localpart, e.error))

        async def hashed(new: NewUser) -> str:
            if new.password_hash is not None:
                return new.password_hash
            assert new.password is not None  # _checked requires one of the two
            async with limit:
                return await hash_password(new.password)

        hashes = await asyncio.gather(*(hashed(new) for new in accepted))
        now = self._clock.time_ms()
        users = [
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
            created = await self._insert_new(tenant, users, report, actor)
        except Conflict:  # someone else created one of them meanwhile: go one by one
            created = []
            for user in users:
                try:
                    created += await self._insert_new(tenant, [user], report, actor)
                except Conflict:
                    report.failed.append((user.localpart, f"{user.user_id} exists already"))
        report.created += created

    async def _insert_new(
        self, tenant: Tenant, users: list[User], report: ImportReport, actor: Actor | None
    ) -> list[str]:
        created: list[str] = []
        refused: list[tuple[str, str]] = []
        async with self._store.transaction() as tx:
            for user in users:
                if user.user_id in created or await tx.users.get(user.user_id) is not None:
                    refused.append((user.localpart, f"{user.user_id} exists already"))
                    continue
                await tx.users.create(user)
                await self._audit_created(tx, tenant, user, actor)
                created.append(user.user_id)
        report.failed += refused  # only once the transaction committed
        return created

    async def bootstrap_admin(self, tenant: Tenant, password: str | None) -> NewAdmin | None:
        """On a tenant's first start, create its first admin; None when users exist."""
        async with self._store.read() as tx:
            if await tx.users.count(tenant.server_name) > 0:
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
            return await tx.users.search(
                tenant.server_name,
                search=search,
                deactivated=deactivated,
                limit=limit,
                offset=offset,
            )

    async def details(self, tenant: Tenant, user_id: str) -> UserDetails:
        async with self._store.read() as tx:
            user = await local_user(tx, tenant, user_id, deactivated_ok=True)
            devices = await tx.devices.for_user(user_id)
            joined = await tx.memberships.for_user(user_id, ("join",))
        return UserDetails(
            user, devices, len(joined), device_limit(tenant.policy, user.max_devices)
        )

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
        async with self._store.read() as tx:
            user = await local_user(tx, tenant, user_id, deactivated_ok=True)
        if user.deactivated:
            raise Forbidden("The account is deactivated: reactivate it with a new password")
        check_password(tenant.policy, password, localpart=user.localpart)
        password_hash = await hash_password(password)
        audience: set[str] = set()
        async with self._store.transaction() as tx:
            await tx.users.lock(user_id)
            await local_user(tx, tenant, user_id)  # not deactivated meanwhile
            await tx.users.set_password_hash(user_id, password_hash)
            removed: list[str] = []
            if logout_devices:
                devices = await tx.devices.for_user(user_id)
                removal = await remove_devices(tx, user_id, [d.device_id for d in devices])
                removed, audience = removal.devices, removal.wake
            await self._audit.record_as(
                tx,
                tenant,
                actor,
                "password.reset",
                target=user_id,
                details={"logout_devices": logout_devices, "devices_removed": len(removed)},
            )
        self._notifier.notify(users=audience)
        return len(removed)

    async def change_password(
        self, requester: Requester, new_password: str, *, logout_devices: bool, auth: object
    ) -> None:
        """POST /account/password: behind the current password."""
        await self._uia.require_password(requester, auth, operation="change_password")
        check_password(requester.tenant.policy, new_password, localpart=requester.localpart)
        password_hash = await hash_password(new_password)
        audience: set[str] = set()
        async with self._store.transaction() as tx:
            await tx.users.set_password_hash(requester.user_id, password_hash)
            removed: list[str] = []
            if logout_devices:
                others = [
                    d.device_id
                    for d in await tx.devices.for_user(requester.user_id)
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
            user = await local_user(tx, tenant, user_id, deactivated_ok=True)
            if user.is_admin == is_admin:
                return
            await tx.users.set_admin(user_id, is_admin)
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


def _checked(tenant: Tenant, new: NewUser) -> NewUser:
    """The entry with its localpart normalised, or a MatrixError saying why not."""
    localpart = new.localpart.lower()
    validate_localpart(tenant, localpart)
    validate_displayname(new.displayname)
    if (new.password is None) == (new.password_hash is None):
        raise InvalidParam("Give either a password or a password_hash")
    if new.password is not None:
        check_password(tenant.policy, new.password, localpart=localpart)
    elif not is_argon2_hash(new.password_hash or ""):
        raise InvalidParam("password_hash must be an Argon2id PHC string")
    return NewUser(localpart, new.password, new.password_hash, new.displayname, new.admin)
