"""What an organisation does to its members' devices: list them, wipe them
remotely, and limit how many an account may have.

A wipe removes devices the one way devices go (``remove_devices``): their
access tokens die with them, so the device's next request, and the /sync it
may be long-polling right now, is answered 401 ``M_UNKNOWN_TOKEN`` with
``soft_logout: false``. That answer is what makes Element and the other
clients erase their local data (keys, messages) instead of asking the user
to log in again. Room-mates learn through ``device_lists.changed`` to stop
encrypting for the wiped devices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from revier.errors import NotFound
from revier.notify import Notifier
from revier.policy.devices import check_device_limit, device_limit
from revier.services.accounts.auth import AuthService
from revier.services.accounts.sessions import remove_devices
from revier.services.core import Actor, AuditLog, Device, Tenant, User, devices, users
from revier.storage import Store


@dataclass(frozen=True, slots=True)
class OwnerProof:
    """What the owner shows on the self-service wipe page to prove the account
    is theirs: the password, and the code of a second factor (a TOTP code or a
    recovery code) when one is enrolled."""

    user: str
    password: str
    code: str = ""


class OwnerCheck(Protocol):
    """The whole proof of the wipe page: the password behind the lockout, and the
    code where a second factor is enrolled; the account, or M_FORBIDDEN,
    M_LIMIT_EXCEEDED, M_USER_LOCKED. The signin wing, which sits above this
    one, provides it (``SignInFlow.check_owner``)."""

    async def __call__(self, tenant: Tenant, proof: OwnerProof, *, address: str) -> User: ...


@dataclass(frozen=True, slots=True)
class OwnWipe:
    user_id: str
    wiped: list[Device]


@dataclass(frozen=True, slots=True)
class DeviceLimit:
    """A user's own limit (None: the tenant's), the limit in force, and how many
    devices they have now (which may exceed a lowered limit)."""

    max_devices: int | None
    effective: int
    device_count: int


class DeviceAdminService:
    def __init__(
        self, store: Store, notifier: Notifier, audit: AuditLog, auth: AuthService
    ) -> None:
        self._store = store
        self._notifier = notifier
        self._audit = audit
        self._auth = auth
        self._owner_check: OwnerCheck | None = None

    def check_owners_with(self, check: OwnerCheck) -> None:
        """Have the self-service wipe check the owner with the lockout and the
        second factor (the container hands in the signin wing's check: a lower
        wing never imports it). Without it, the password alone, as /login."""
        self._owner_check = check

    async def list_devices(self, tenant: Tenant, user_id: str) -> list[Device]:
        async with self._store.read() as tx:
            await users.local_user(tx, tenant, user_id, deactivated_ok=True)
            return await devices.of_user(tx, user_id)

    async def wipe(
        self,
        tenant: Tenant,
        by: Actor,
        user_id: str,
        device_ids: list[str] | None,
        *,
        details: dict[str, Any] | None = None,
    ) -> list[Device]:
        """Remove the named devices of a user of ``tenant`` (None: all of them);
        returns those removed. One named device that doesn't exist is M_NOT_FOUND."""
        async with self._store.transaction() as tx:
            await users.local_user(tx, tenant, user_id, deactivated_ok=True)
            # Serialises with a login of the same user, which could otherwise
            # add a device that "all" misses.
            await users.lock(tx, user_id)
            owned = await devices.of_user(tx, user_id)
            if device_ids is not None:
                wanted = set(device_ids)
                owned = [d for d in owned if d.device_id in wanted]
                if not owned:
                    raise NotFound("No such device")
            removal = await remove_devices(tx, user_id, [d.device_id for d in owned])
            removed = set(removal.devices)
            wiped = [d for d in owned if d.device_id in removed]
            for device in wiped:
                await self._audit.record_as(
                    tx,
                    tenant,
                    by,
                    "device.wiped",
                    target=f"{user_id}/{device.device_id}",
                    details=details,
                )
        # Wakes the wiped devices' own pending /sync (answered 401 at once),
        # drops their cached tokens on every worker, and tells room-mates.
        self._notifier.notify(users=removal.wake)
        return wiped

    async def wipe_own_devices(self, tenant: Tenant, proof: OwnerProof, *, address: str) -> OwnWipe:
        """The self-service wipe: an owner who has no device left signs out all
        of them with their password (for a lost or stolen phone, out of hours).

        The proof is checked exactly like a login (same rate limits, same
        answer for an unknown user and a wrong password).
        """
        if self._owner_check is not None:
            account = await self._owner_check(tenant, proof, address=address)
        else:
            account = await self._auth.verify_credentials(
                tenant, user=proof.user, password=proof.password, address=address
            )
        wiped = await self.wipe(
            tenant,
            Actor(account.user_id, address),
            account.user_id,
            None,
            details={"self_service": True},
        )
        return OwnWipe(account.user_id, wiped)

    async def set_max_devices(
        self, tenant: Tenant, by: Actor, user_id: str, max_devices: int | None
    ) -> DeviceLimit:
        """Set (or with None, clear) a user's own device limit.

        Only later logins are affected: lowering the limit below the devices
        the user has logs none of them out, it refuses new ones until enough
        are removed.
        """
        check_device_limit(max_devices)
        async with self._store.transaction() as tx:
            user = await users.local_user(tx, tenant, user_id, deactivated_ok=True)
            await users.set_max_devices(tx, user_id, max_devices)
            await self._audit.record_as(
                tx,
                tenant,
                by,
                "user.device_limit_set",
                target=user_id,
                details={"max_devices": max_devices, "previous": user.max_devices},
            )
            count = await devices.count(tx, user_id)
        return DeviceLimit(max_devices, device_limit(tenant.policy, max_devices), count)
