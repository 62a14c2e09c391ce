"""Send-to-device messaging (spec: "Send-to-Device messaging").

A message is stored per recipient device at one stream position and stays
until the device acknowledges it: a /sync whose ``since`` token lies at or
past the message. So it is delivered in order and survives a restart; a
client that lost a response gets the same messages again with its old token.

One /sync carries at most ``MAX_PER_SYNC`` messages. When more are waiting,
the token's to-device part stops at the last message delivered (see
``SyncToken.to_device``) while its position moves on for everything else.

Most syncs have nothing to fetch and nothing to acknowledge: the notifier's
change log says whether any message for the device was stored in the window,
and each worker remembers up to where a device has acknowledged, so neither
costs a query then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from revier.errors import BadJson, InvalidParam
from revier.events.identifiers import is_valid_user_id
from revier.events.types import JsonDict
from revier.notify import Notifier
from revier.services.core import Clock, Requester, devices
from revier.storage import Conflict, Store, Tx, streams
from revier.storage.e2e import E2eRepos
from revier.storage.e2e.to_device import ToDeviceMessage

MAX_PER_SYNC = 100
# Devices whose acknowledged position is remembered (the oldest go first).
_ACKED_MAX = 50_000
TXN_MEMORY_MS = 24 * 60 * 60 * 1000
_MAX_ID = 255


@dataclass(frozen=True, slots=True)
class ToDeviceBatch:
    events: list[JsonDict]
    # Set when capped: the position of the last message delivered.
    delivered_upto: int | None


class ToDeviceService:
    def __init__(self, store: Store, notifier: Notifier, clock: Clock) -> None:
        self._store = store
        self._notifier = notifier
        self._clock = clock
        # device -> a position up to which no message of its is left (this worker
        # acknowledged it; only an acknowledgement deletes messages).
        self._acked: dict[str, int] = {}

    async def send(self, requester: Requester, event_type: str, txn_id: str, messages: Any) -> None:
        """PUT /sendToDevice/{eventType}/{txnId}"""
        if not (0 < len(event_type) <= _MAX_ID) or not (0 < len(txn_id) <= _MAX_ID):
            raise InvalidParam("eventType and txnId must be 1 to 255 characters")
        wanted = _parse_messages(messages)
        # Other servers' and other tenants' users are out of reach (no
        # federation): dropped, as a remote server that never answers would.
        local = {
            u: d for u, d in wanted.items() if u.partition(":")[2] == requester.tenant.server_name
        }
        out: list[ToDeviceMessage] = []
        try:
            async with self._store.transaction() as tx:
                db = E2eRepos.of(tx)
                if await db.to_device.seen_txn(requester.user_id, requester.device_id, txn_id):
                    return  # a retry: sent the first time
                now = self._clock.time_ms()
                # Retries come within minutes; a day of memory bounds the table.
                await db.to_device.forget_txns_before(
                    requester.user_id, requester.device_id, now - TXN_MEMORY_MS
                )
                await db.to_device.remember_txn(requester.user_id, requester.device_id, txn_id, now)
                out = await self._expand(tx, requester, event_type, local)
                if out:
                    await db.to_device.add(out, await tx.streams.next_position())
        except Conflict:
            return  # the same txn_id raced itself; the other request sent it
        if out:
            self._notifier.notify(users={m.user_id for m in out})

    async def _expand(
        self, tx: Tx, requester: Requester, event_type: str, wanted: dict[str, dict[str, JsonDict]]
    ) -> list[ToDeviceMessage]:
        out: list[ToDeviceMessage] = []
        for user_id, by_device in wanted.items():
            owned = await devices.ids_of(tx, user_id)
            targets: dict[str, JsonDict] = {}
            if "*" in by_device:
                targets = dict.fromkeys(owned, by_device["*"])
            # A message for a named device wins over the "*" one for it.
            targets.update({d: c for d, c in by_device.items() if d != "*" and d in owned})
            out.extend(
                ToDeviceMessage(user_id, d, requester.user_id, event_type, c)
                for d, c in targets.items()
            )
        return out

    async def for_sync(
        self, tx: Tx, requester: Requester, after: int, upto: int, limit: int = MAX_PER_SYNC
    ) -> ToDeviceBatch:
        """The device's messages in (after, upto], oldest first, at most ``limit``."""
        limit = min(limit, MAX_PER_SYNC)
        if not self._may_have(requester, after, upto):
            return ToDeviceBatch([], None)
        pending = await E2eRepos.of(tx).to_device.pending(
            requester.user_id, requester.device_id, after, upto, limit + 1
        )
        capped = len(pending) > limit
        pending = pending[:limit]
        events = [{"sender": m.sender, "type": m.type, "content": m.content} for m in pending]
        return ToDeviceBatch(events, pending[-1].stream_ordering if capped else None)

    async def acknowledge(self, requester: Requester, upto: int) -> None:
        """The device synced with a token at ``upto``: what it got before is gone for good."""
        key = streams.device_key(requester.user_id, requester.device_id)
        done = self._acked.get(key)
        if done is not None and done >= upto:
            return
        if done is not None and not self._may_have(requester, done, upto):
            # Nothing stored for it since: none of its messages is left up to
            # ``upto`` either. Remembered, so the next look starts there — from
            # ``done`` each window would grow with every position the server
            # took since the device's last message, up to the log's longest
            # (5,000 positions scanned per /sync, a fifth of a woken worker).
            self._remember_ack(key, upto)
            return
        async with self._store.read() as tx:
            if not await E2eRepos.of(tx).to_device.has_acknowledged(
                requester.user_id, requester.device_id, upto
            ):
                self._remember_ack(key, upto)
                return  # the common case: no write at all
        async with self._store.transaction() as tx:
            await E2eRepos.of(tx).to_device.delete_acknowledged(
                requester.user_id, requester.device_id, upto
            )
        self._remember_ack(key, upto)

    def _may_have(self, requester: Requester, after: int, upto: int) -> bool:
        """Whether a message for the device may have been stored in (after, upto]."""
        window = self._notifier.changes.window(after, upto)
        key = streams.device_key(requester.user_id, requester.device_id)
        return window is None or window.has(streams.TO_DEVICE, key)

    def _remember_ack(self, key: str, upto: int) -> None:
        if key not in self._acked and len(self._acked) >= _ACKED_MAX:
            del self._acked[next(iter(self._acked))]
        self._acked[key] = max(upto, self._acked.get(key, upto))


def _parse_messages(messages: Any) -> dict[str, dict[str, JsonDict]]:
    if not isinstance(messages, dict):
        raise BadJson("'messages' must map user IDs to devices to message contents")
    for user_id, by_device in messages.items():
        if not is_valid_user_id(user_id):
            raise InvalidParam(f"{user_id!r} is not a user ID")
        if not isinstance(by_device, dict) or not all(
            isinstance(c, dict) for c in by_device.values()
        ):
            raise BadJson(f"'messages' for {user_id} must map device IDs to objects")
    return messages
