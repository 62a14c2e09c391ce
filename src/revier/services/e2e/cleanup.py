"""What the e2e wing lets go of when a device or an account goes.

The accounts wing removes devices and closes accounts; it calls these in the
same transaction, so a device never disappears while its keys stay claimable.
"""

from __future__ import annotations

from revier.storage import Tx
from revier.storage.e2e import E2eRepos


async def has_device_keys(tx: Tx, user_id: str, device_id: str) -> bool:
    """Whether the device published identity keys (then room-mates track it)."""
    return await E2eRepos.of(tx).e2e_keys.device_keys(user_id, device_id) is not None


async def forget_devices(tx: Tx, user_id: str, device_ids: list[str]) -> bool:
    """Delete the devices' keys, the signatures on them and their unread to-device
    messages: nobody may claim a key of a device that can't answer, nor read what
    was sent to it. True if one of them had published keys (room-mates must learn
    of it through the device-list stream)."""
    db = E2eRepos.of(tx)
    had_keys = await db.e2e_keys.delete_for_devices(user_id, device_ids)
    await db.cross_signing.delete_signatures_on_devices(user_id, device_ids)
    await db.to_device.delete_for_devices(user_id, device_ids)
    return had_keys


async def forget_account(tx: Tx, user_id: str) -> bool:
    """A leaver's key backups and cross-signing keys: nobody should verify against
    them or restore from them. True if cross-signing keys went (a device-list change)."""
    db = E2eRepos.of(tx)
    await db.key_backup.delete_all(user_id)
    return await db.cross_signing.delete_for_user(user_id)
