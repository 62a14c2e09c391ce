"""Accounts: created only by the organisation, never by a client."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from revier.errors import InvalidUsername, NotFound, UserInUse
from revier.policy.passwords import check_password
from revier.services.clock import Clock
from revier.services.devices import remove_devices
from revier.services.passwords import hash_password
from revier.services.requester import Requester
from revier.services.tenants import Tenant
from revier.services.uia import UserInteractiveAuth
from revier.storage import Conflict, Store
from revier.storage.accounts import User

_LOCALPART_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._=-/+")


@dataclass(frozen=True, slots=True)
class NewAdmin:
    user_id: str
    password: str | None  # set when it was generated and must be shown once


def validate_localpart(tenant: Tenant, localpart: str) -> None:
    """The spec's user ID grammar for new accounts (appendix "User Identifiers")."""
    if not localpart or not set(localpart) <= _LOCALPART_CHARS:
        raise InvalidUsername(
            "User names may only contain a-z, 0-9 and . _ = - / +",
        )
    if len(tenant.user_id(localpart).encode("utf-8")) > 255:
        raise InvalidUsername("The user ID would be longer than 255 bytes")


class AccountService:
    def __init__(self, store: Store, clock: Clock, uia: UserInteractiveAuth) -> None:
        self._store = store
        self._clock = clock
        self._uia = uia

    async def create_user(
        self,
        tenant: Tenant,
        localpart: str,
        password: str,
        *,
        admin: bool = False,
        displayname: str | None = None,
    ) -> User:
        localpart = localpart.lower()
        validate_localpart(tenant, localpart)
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
        except Conflict:
            raise UserInUse(f"{user.user_id} exists already") from None
        return user

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

    async def get_user(self, user_id: str) -> User:
        async with self._store.read() as tx:
            user = await tx.users.get(user_id)
        if user is None:
            raise NotFound(f"No user {user_id}")
        return user

    async def list_users(
        self, tenant: Tenant, *, search: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[User]:
        async with self._store.read() as tx:
            return await tx.users.search(
                tenant.server_name, search=search, limit=limit, offset=offset
            )

    async def reset_password(self, tenant: Tenant, user_id: str, password: str) -> None:
        """The help desk sets a new password; every session of the user ends."""
        user = await self.get_user(user_id)
        check_password(tenant.policy, password, localpart=user.localpart)
        password_hash = await hash_password(password)
        async with self._store.transaction() as tx:
            await tx.users.set_password_hash(user_id, password_hash)
            devices = await tx.devices.for_user(user_id)
            await remove_devices(tx, user_id, [d.device_id for d in devices])

    async def change_password(
        self, requester: Requester, new_password: str, *, logout_devices: bool, auth: object
    ) -> None:
        """POST /account/password: behind the current password."""
        await self._uia.require_password(requester, auth, operation="change_password")
        check_password(requester.tenant.policy, new_password, localpart=requester.localpart)
        password_hash = await hash_password(new_password)
        async with self._store.transaction() as tx:
            await tx.users.set_password_hash(requester.user_id, password_hash)
            if logout_devices:
                others = [
                    d.device_id
                    for d in await tx.devices.for_user(requester.user_id)
                    if d.device_id != requester.device_id
                ]
                await remove_devices(tx, requester.user_id, others)

    async def set_admin(self, user_id: str, is_admin: bool) -> None:
        await self.get_user(user_id)
        async with self._store.transaction() as tx:
            await tx.users.set_admin(user_id, is_admin)

    async def deactivate(self, user_id: str) -> None:
        """Close an account: no password, no devices, no sessions.

        Leaving rooms and dropping keys join this once those exist.
        """
        await self.get_user(user_id)
        async with self._store.transaction() as tx:
            await tx.users.set_deactivated(user_id, True)
            await tx.users.set_password_hash(user_id, None)
            devices = await tx.devices.for_user(user_id)
            await remove_devices(tx, user_id, [d.device_id for d in devices])
