"""To-device messages waiting for their recipient device, and /sendToDevice transaction IDs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from sqlalchemy import Integer, bindparam, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.events.types import JsonDict
from revier.storage import streams
from revier.storage.e2e.tables import to_device_messages, to_device_txns
from revier.storage.streams import StreamChanges, in_window

_t = to_device_messages
_DEVICE = (_t.c.user_id == bindparam("user"), _t.c.device_id == bindparam("device"))
# What every /sync asks, built once (see revier.storage.events).
_PENDING = (
    select(_t.c.stream_ordering, _t.c.sender, _t.c.type, _t.c.content)
    .where(*_DEVICE, *in_window(_t.c.stream_ordering))
    .order_by(_t.c.stream_ordering)
    .limit(bindparam("limit", type_=Integer))
)
_ANY_UPTO = (
    select(_t.c.stream_ordering).where(*_DEVICE, _t.c.stream_ordering <= bindparam("upto")).limit(1)
)
_DELETE_UPTO = delete(_t).where(*_DEVICE, _t.c.stream_ordering <= bindparam("upto"))


@dataclass(frozen=True, slots=True)
class ToDeviceMessage:
    user_id: str
    device_id: str
    sender: str
    type: str
    content: JsonDict


@dataclass(frozen=True, slots=True)
class PendingMessage:
    stream_ordering: int
    sender: str
    type: str
    content: JsonDict


class ToDeviceRepository:
    def __init__(self, conn: AsyncConnection, changes: StreamChanges) -> None:
        self._conn = conn
        self._changes = changes

    async def seen_txn(self, user_id: str, device_id: str, txn_id: str) -> bool:
        stmt = select(to_device_txns.c.txn_id).where(
            to_device_txns.c.user_id == user_id,
            to_device_txns.c.device_id == device_id,
            to_device_txns.c.txn_id == txn_id,
        )
        return (await self._conn.execute(stmt)).first() is not None

    async def forget_txns_before(self, user_id: str, device_id: str, ts: int) -> None:
        await self._conn.execute(
            delete(to_device_txns).where(
                to_device_txns.c.user_id == user_id,
                to_device_txns.c.device_id == device_id,
                to_device_txns.c.created_ts < ts,
            )
        )

    async def remember_txn(self, user_id: str, device_id: str, txn_id: str, ts: int) -> None:
        await self._conn.execute(
            insert(to_device_txns).values(
                user_id=user_id, device_id=device_id, txn_id=txn_id, created_ts=ts
            )
        )

    async def add(self, messages: Sequence[ToDeviceMessage], position: int) -> None:
        if not messages:
            return
        for m in messages:
            key = streams.device_key(m.user_id, m.device_id)
            self._changes.record(position, streams.TO_DEVICE, key)
        await self._conn.execute(
            insert(to_device_messages),
            [
                {
                    "user_id": m.user_id,
                    "device_id": m.device_id,
                    "stream_ordering": position,
                    "sender": m.sender,
                    "type": m.type,
                    "content": orjson.dumps(m.content).decode(),
                }
                for m in messages
            ],
        )

    async def pending(
        self, user_id: str, device_id: str, after: int, upto: int, limit: int
    ) -> list[PendingMessage]:
        """The device's messages in (after, upto], oldest first."""
        params = {"user": user_id, "device": device_id, "after": after, "upto": upto}
        rows = await self._conn.execute(_PENDING, {**params, "limit": limit})
        return [
            PendingMessage(row.stream_ordering, row.sender, row.type, orjson.loads(row.content))
            for row in rows
        ]

    async def has_acknowledged(self, user_id: str, device_id: str, upto: int) -> bool:
        """Whether messages at or before ``upto`` are still stored (and so can be deleted)."""
        params = {"user": user_id, "device": device_id, "upto": upto}
        return (await self._conn.execute(_ANY_UPTO, params)).first() is not None

    async def delete_acknowledged(self, user_id: str, device_id: str, upto: int) -> None:
        params = {"user": user_id, "device": device_id, "upto": upto}
        await self._conn.execute(_DELETE_UPTO, params)

    async def delete_for_devices(self, user_id: str, device_ids: Sequence[str]) -> None:
        """A removed device's inbox, and its transaction IDs as a sender."""
        for table in (to_device_messages, to_device_txns):
            await self._conn.execute(
                delete(table).where(
                    table.c.user_id == user_id, table.c.device_id.in_(list(device_ids))
                )
            )
