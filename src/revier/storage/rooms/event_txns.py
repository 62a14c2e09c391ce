"""A client's transaction IDs: a send retried with the same ``txnId`` is answered
with the event it made the first time (the spec's idempotency of ``PUT .../send``)."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.direct import Prepared
from revier.storage.rooms.tables import event_txns

# Every send runs both.
_TXN_EVENT = Prepared(
    select(event_txns.c.event_id).where(
        event_txns.c.user_id == bindparam("user"),
        event_txns.c.device_id == bindparam("device"),
        event_txns.c.txn_id == bindparam("txn"),
    )
)
_INSERT_TXN = Prepared(insert(event_txns))


class EventTxnRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def event_id_for(self, user_id: str, device_id: str, txn_id: str) -> str | None:
        params = {"user": user_id, "device": device_id, "txn": txn_id}
        value = (await _TXN_EVENT.rows(self._conn, params)).scalar()
        return str(value) if value is not None else None

    async def remember(
        self, user_id: str, device_id: str, txn_id: str, event_id: str, created_ts: int
    ) -> None:
        await _INSERT_TXN.rows(
            self._conn,
            {
                "user_id": user_id,
                "device_id": device_id,
                "txn_id": txn_id,
                "event_id": event_id,
                "created_ts": created_ts,
            },
        )

    async def for_events(
        self, user_id: str, device_id: str, event_ids: list[str]
    ) -> dict[str, str]:
        """event_id -> txn_id for the events this device sent (clients match local echoes)."""
        if not event_ids:
            return {}
        stmt = select(event_txns.c.event_id, event_txns.c.txn_id).where(
            event_txns.c.user_id == user_id,
            event_txns.c.device_id == device_id,
            event_txns.c.event_id.in_(event_ids),
        )
        return {row.event_id: row.txn_id for row in await self._conn.execute(stmt)}

    async def forget_device(self, user_id: str, device_id: str) -> None:
        await self._conn.execute(
            delete(event_txns).where(
                event_txns.c.user_id == user_id, event_txns.c.device_id == device_id
            )
        )
