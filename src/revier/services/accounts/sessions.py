"""A user's devices: listing, naming, and removing them with everything they held."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from revier.errors import NotFound
from revier.notify import Notifier
from revier.services.core import Actor, AuditLog, Device, Requester, UserInteractiveAuth, devices
from revier.services.e2e import cleanup, record_device_list_change
from revier.services.notifications import forget_device_pushers
from revier.storage import Store, Tx
from revier.storage.accounts import AccountRepos


class DeviceService:
    def __init__(
        self, store: Store, uia: UserInteractiveAuth, notifier: Notifier, audit: AuditLog
    ) -> None:
        self._store = store
        self._uia = uia
        self._notifier = notifier
        self._audit = audit

    async def list_devices(self, requester: Requester) -> list[Device]:
        async with self._store.read() as tx:
            return await devices.of_user(tx, requester.user_id)

    async def get_device(self, requester: Requester, device_id: str) -> Device:
        async with self._store.read() as tx:
            device = await devices.get(tx, requester.user_id, device_id)
        if device is None:
            raise NotFound("No such device")
        return device

    async def update_device(self, requester: Requester, device_id: str, display_name: str) -> None:
        async with self._store.transaction() as tx:
            if not await devices.rename(tx, requester.user_id, device_id, display_name):
                raise NotFound("No such device")
            # The name is part of the device's entry in /keys/query; the user's other
            # devices learn of it through their own device_lists either way.
            has_keys = await cleanup.has_device_keys(tx, requester.user_id, device_id)
            audience = await record_device_list_change(
                tx, requester.user_id, tell_room_mates=has_keys
            )
        self._notifier.notify(users=audience)

    async def delete_devices(self, requester: Requester, device_ids: list[str], auth: Any) -> None:
        """DELETE /devices/{id} and POST /delete_devices: behind the password."""
        await self._uia.require_password(
            requester, auth, operation="delete_devices", params=sorted(device_ids)
        )
        async with self._store.transaction() as tx:
            removal = await remove_devices(tx, requester.user_id, device_ids)
            await audit_removed(self._audit, tx, requester, removal.devices)
        self._notifier.notify(users=removal.wake)

    async def require_existing(self, requester: Requester, device_id: str) -> None:
        await self.get_device(requester, device_id)


@dataclass(frozen=True, slots=True)
class Removal:
    devices: list[str]  # the IDs of the devices removed
    wake: set[str]  # whom to notify once the transaction has committed


async def remove_devices(tx: Tx, user_id: str, device_ids: list[str]) -> Removal:
    """Delete devices and what hangs off them, inside the caller's transaction.

    The one place a device disappears (logout, delete, wipe, deactivation), so
    none of them can forget a piece: its access and refresh tokens die with it, its keys,
    and its pushers (a signed-out phone must get no more pushes). The caller
    notifies ``Removal.wake`` (always the user: the push sender re-reads their
    pushers) after the commit.
    """
    if not device_ids:
        return Removal([], {user_id})
    db = AccountRepos.of(tx)
    await db.access_tokens.delete_for_devices(user_id, device_ids)
    await db.refresh_tokens.delete_for_devices(user_id, device_ids)
    had_keys = await cleanup.forget_devices(tx, user_id, device_ids)
    await forget_device_pushers(tx, user_id, device_ids)
    removed = await devices.delete(tx, user_id, device_ids)
    # Room-mates must stop encrypting for the removed devices. A device that never
    # published keys was never known to them: then only the user is woken (their
    # other devices, which list their own devices; every worker's token cache).
    wake = await record_device_list_change(tx, user_id, tell_room_mates=had_keys)
    return Removal(removed, wake)


async def audit_removed(
    audit: AuditLog,
    tx: Tx,
    requester: Requester,
    device_ids: list[str],
    details: dict[str, Any] | None = None,
) -> None:
    """``device.removed`` for each device its owner removed (an admin's or the wipe
    page's removal is ``device.wiped``)."""
    for device_id in device_ids:
        await audit.record_as(
            tx,
            requester.tenant,
            Actor.of(requester),
            "device.removed",
            target=f"{requester.user_id}/{device_id}",
            details=details,
        )
