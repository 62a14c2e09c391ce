"""The end-to-end encryption part of /sync: to-device messages, device lists, key counts."""

from __future__ import annotations

from dataclasses import dataclass

from revier.events.types import JsonDict
from revier.notify.changes import WindowChanges
from revier.services.core import Requester, SyncToken
from revier.services.e2e.device_lists import DeviceListChanges, device_list_changes
from revier.services.e2e.e2e_keys import E2eKeyService
from revier.services.e2e.to_device import ToDeviceService
from revier.storage import Tx, streams


@dataclass(frozen=True, slots=True)
class E2eSyncPart:
    body: JsonDict  # to_device, device_lists, device_one_time_keys_count, ...
    # Something the client must act on: the long-poll returns at once.
    has_news: bool
    # For the next_batch token: set when the to-device messages were capped.
    to_device_position: int | None


class E2eSync:
    def __init__(self, keys: E2eKeyService, to_device: ToDeviceService) -> None:
        self._keys = keys
        self._to_device = to_device

    async def acknowledge(self, requester: Requester, since: SyncToken | None) -> None:
        """Delete the to-device messages the ``since`` token proves delivered.

        Its own small write, before the read snapshot of the response:
        delivery itself never depends on it (the read starts after the
        acknowledged position anyway).
        """
        if since is not None:
            await self._to_device.acknowledge(requester, since.to_device_position)

    async def sync_fields(
        self,
        tx: Tx,
        requester: Requester,
        since: SyncToken | None,
        upto: int,
        joined_rooms: list[str],
        known: WindowChanges | None = None,
    ) -> E2eSyncPart:
        """``known``: what changed in (since, upto] if the change log could tell."""
        after = since.to_device_position if since is not None else 0
        batch = await self._to_device.for_sync(tx, requester, after, upto)
        body: JsonDict = {"to_device": {"events": batch.events}}
        news = bool(batch.events)
        counts, last_claim = await self._keys.sync_counts(tx, requester, upto)
        if since is not None:
            if known is not None and not _device_lists_may_change(known, requester, joined_rooms):
                changes = DeviceListChanges()
            else:
                changes = await device_list_changes(
                    tx, requester.user_id, since.position, upto, joined_rooms
                )
            body["device_lists"] = changes.to_json()
            news = (
                news
                or bool(changes)
                or (last_claim is not None and since.position < last_claim <= upto)
            )
        body.update(counts)
        return E2eSyncPart(body, news, batch.delivered_upto)

    # --- the to_device and e2ee extensions of sliding sync -----------------------

    async def acknowledge_to_device(self, requester: Requester, upto: int) -> None:
        """The client sent ``upto`` back as ``since``: it has every message up to it."""
        await self._to_device.acknowledge(requester, upto)

    async def to_device(
        self, tx: Tx, requester: Requester, since: int, upto: int, limit: int
    ) -> tuple[JsonDict, bool]:
        """The to_device extension: messages after ``since``; its ``next_batch`` is the
        position to acknowledge. Whether there are any."""
        if since >= upto:
            return {"next_batch": str(since), "events": []}, False
        batch = await self._to_device.for_sync(tx, requester, since, upto, limit)
        next_batch = upto if batch.delivered_upto is None else batch.delivered_upto
        return {"next_batch": str(next_batch), "events": batch.events}, bool(batch.events)

    async def key_status(
        self,
        tx: Tx,
        requester: Requester,
        since: int | None,
        upto: int,
        joined_rooms: list[str],
        known: WindowChanges | None = None,
    ) -> tuple[JsonDict, bool]:
        """The e2ee extension: key counts always, device-list changes since ``since``
        (only with one: a fresh connection must query everyone anyway). Whether a
        device list changed — key counts alone never wake a waiting client."""
        body, _ = await self._keys.sync_counts(tx, requester, upto)
        if since is None:
            return body, False
        if known is not None and not _device_lists_may_change(known, requester, joined_rooms):
            changes = DeviceListChanges()
        else:
            changes = await device_list_changes(tx, requester.user_id, since, upto, joined_rooms)
        body["device_lists"] = changes.to_json()
        return body, bool(changes)


def _device_lists_may_change(
    known: WindowChanges, requester: Requester, joined_rooms: list[str]
) -> bool:
    """What ``device_list_changes`` reads: anyone's device-list change, the user's
    own joins and leaves, and others' in the user's rooms."""
    return (
        known.any(streams.DEVICE_LIST)
        or known.has(streams.MEMBERSHIP, requester.user_id)
        or known.touches(streams.ROOM_MEMBERS, joined_rooms)
    )
