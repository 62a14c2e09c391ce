"""Sliding-sync connections: what each one has been sent, per position it handed out."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.direct import Prepared
from revier.storage.sync.tables import sliding_sync_snapshots as _t

_CONNECTION = and_(
    _t.c.user_id == bindparam("user"),
    _t.c.device_id == bindparam("device"),
    _t.c.conn_id == bindparam("conn"),
)
# Every sliding-sync request runs some of these.
_OF_CONNECTION = Prepared(select(_t.c.snapshot, _t.c.state, _t.c.used_ts).where(_CONNECTION))
_USED = Prepared(select(_t.c.snapshot, _t.c.used_ts).where(_CONNECTION))
_STATE = Prepared(select(_t.c.state).where(_CONNECTION, _t.c.snapshot == bindparam("snapshot")))
# Not "snapshot": an UPDATE reserves its columns' names for their new values.
_OTHERS = Prepared(delete(_t).where(_CONNECTION, _t.c.snapshot != bindparam("keep")))
_TOUCH = Prepared(
    update(_t)
    .where(_CONNECTION, _t.c.snapshot == bindparam("keep"))
    .values(used_ts=bindparam("now"))
)
_INSERT = Prepared(insert(_t))
_DROP = Prepared(delete(_t).where(_CONNECTION))


@dataclass(frozen=True, slots=True)
class Snapshot:
    state: str  # JSON
    used_ts: int


class SlidingConnectionRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def of_connection(
        self, user_id: str, device_id: str, conn_id: str
    ) -> dict[int, Snapshot]:
        """The connection's snapshots (at most a few: presenting one drops the others)."""
        params = {"user": user_id, "device": device_id, "conn": conn_id}
        rows = await _OF_CONNECTION.rows(self._conn, params)
        return {int(row.snapshot): Snapshot(row.state, int(row.used_ts)) for row in rows}

    async def used(self, user_id: str, device_id: str, conn_id: str) -> dict[int, int]:
        """The connection's snapshots, each with when a request last presented it
        (without their states: a worker that remembers the state doesn't read it)."""
        params = {"user": user_id, "device": device_id, "conn": conn_id}
        return {int(r.snapshot): int(r.used_ts) for r in await _USED.rows(self._conn, params)}

    async def state(self, user_id: str, device_id: str, conn_id: str, snapshot: int) -> str | None:
        """One snapshot's state (JSON)."""
        params = {"user": user_id, "device": device_id, "conn": conn_id, "snapshot": snapshot}
        state = (await _STATE.rows(self._conn, params)).scalar_one_or_none()
        return None if state is None else str(state)

    async def keep_only(
        self, user_id: str, device_id: str, conn_id: str, snapshot: int, now: int
    ) -> None:
        """The client presented ``snapshot``: every other one of the connection is
        dead (a response it never got, or one it has moved past)."""
        params = {"user": user_id, "device": device_id, "conn": conn_id, "keep": snapshot}
        await _OTHERS.rows(self._conn, params)
        await _TOUCH.rows(self._conn, {**params, "now": now})

    async def add(
        self, user_id: str, device_id: str, conn_id: str, snapshot: int, state: str, now: int
    ) -> None:
        """A new snapshot of the connection (``storage.Conflict`` if the number is taken)."""
        await _INSERT.rows(
            self._conn,
            {
                "user_id": user_id,
                "device_id": device_id,
                "conn_id": conn_id,
                "snapshot": snapshot,
                "state": state,
                "used_ts": now,
            },
        )

    async def drop(self, user_id: str, device_id: str, conn_id: str) -> None:
        """A request without ``pos`` starts the connection over."""
        await _DROP.rows(self._conn, {"user": user_id, "device": device_id, "conn": conn_id})

    async def expire(self, used_before: int) -> int:
        """Forget every snapshot no request has presented since ``used_before``."""
        result = await self._conn.execute(delete(_t).where(_t.c.used_ts < used_before))
        return int(result.rowcount or 0)
