"""Which devices an account has: the device registry every wing reads.

The ``devices`` table belongs to this module. The accounts wing adds and
removes devices (login, logout, wipe, deactivation); the e2e wing reads them
(a to-device message for ``*``, a cross-signing key that must not reuse a
device's ID); the admin sees them. Removing a device takes what hangs off it
in the other wings too: that is the accounts wing's ``remove_devices``.
"""

from __future__ import annotations

from revier.storage import Tx
from revier.storage.core import CoreRepos
from revier.storage.core.devices import Device


async def of_user(tx: Tx, user_id: str) -> list[Device]:
    """The user's devices, oldest first."""
    return await CoreRepos.of(tx).devices.for_user(user_id)


async def ids_of(tx: Tx, user_id: str) -> list[str]:
    """The IDs of the user's devices, oldest first."""
    return [d.device_id for d in await CoreRepos.of(tx).devices.for_user(user_id)]


async def get(tx: Tx, user_id: str, device_id: str) -> Device | None:
    return await CoreRepos.of(tx).devices.get(user_id, device_id)


async def count(tx: Tx, user_id: str) -> int:
    return await CoreRepos.of(tx).devices.count(user_id)


async def add(tx: Tx, device: Device) -> None:
    await CoreRepos.of(tx).devices.create(device)


async def rename(tx: Tx, user_id: str, device_id: str, display_name: str) -> bool:
    """False when the user has no such device."""
    return await CoreRepos.of(tx).devices.set_display_name(user_id, device_id, display_name)


async def touch(
    tx: Tx,
    user_id: str,
    device_id: str,
    *,
    ts: int,
    ip: str | None,
    client: tuple[str, str] | None = None,
) -> None:
    await CoreRepos.of(tx).devices.touch(user_id, device_id, ts=ts, ip=ip, client=client)


async def client_versions(tx: Tx, tenant: str) -> list[tuple[str, str, int]]:
    """The clients (name, version) the tenant's devices used last, with counts."""
    return await CoreRepos.of(tx).devices.client_versions(tenant)


async def delete(tx: Tx, user_id: str, device_ids: list[str]) -> list[str]:
    """Delete the rows of these devices; the IDs that existed."""
    return await CoreRepos.of(tx).devices.delete(user_id, device_ids)
