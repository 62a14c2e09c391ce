"""Sliding-sync connections: what each one has been sent, per position it handed out."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.sync.tables import sliding_sync_snapshots as _t

_CONNECTION = and_(
    _t.c.user_id == bindparam("user"),
    _t.c.device_id == bindparam("device"),
    _t.c.conn_id == bindparam("conn"),
)
_OF_CONNECTION = select(_t.c.snapshot, _t.c.state, _t.c.used_ts).where(_CONNECTION)
_USED = select(_t.c.snapshot, _t.c.used_ts).where(_CONNECTION)
_STATE = select(_t.c.state).where(_CONNECTION, _t.c.snapshot == bindparam("snapshot"))
# Not "snapshot": an UPDATE reserves its columns' names for their new values.
_OTHERS = delete(_t).where(_CONNECTION, _t.c.snapshot != bindparam("keep"))
_TOUCH = (
    update(_t)
    .where(_CONNECTION, _t.c.snapshot == bindparam("keep"))
    .values(used_ts=bindparam("now"))
)
_INSERT = insert(_t)


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
        rows = await self._conn.execute(_OF_CONNECTION, params)
        return {int(row.snapshot): Snapshot(row.state, int(row.used_ts)) for row in rows}

    async def used(self, user_id: str, device_id: str, conn_id: str) -> dict[int, int]:
        """The connection's snapshots, each with when a request last presented it
        (without their states: a worker that remembers the state doesn't read it)."""
        params = {"user": user_id, "device": device_id, "conn": conn_id}
        return {int(r.snapshot): int(r.used_ts) for r in await self._conn.execute(_USED, params)}

    async def state(self, user_id: str, device_id: str, conn_id: str, snapshot: int) -> str | None:
        """One snapshot's state (JSON)."""
        params = {"user": user_id, "device": device_id, "conn": conn_id, "snapshot": snapshot}
        return (await self._conn.execute(_STATE, params)).scalar_one_or_none()

    async def keep_only(
        self, user_id: str, device_id: str, conn_id: str, snapshot: int, now: int
    ) -> None:
        """The client presented ``snapshot``: every other one of the connection is
        dead (a response it never got, or one it has moved past)."""
        params = {"user": user_id, "device": device_id, "conn": conn_id, "keep": snapshot}
        await self._conn.execute(_OTHERS, params)
        await self._conn.execute(_TOUCH, {**params, "now": now})

    async def add(
        self, user_id: str, device_id: str, conn_id: str, snapshot: int, state: str, now: int
    ) -> None:
        """A new snapshot of the connection (``storage.Conflict`` if the number is taken)."""
        await self._conn.execute(
            _INSERT,
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
        await self._conn.execute(
            delete(_t).where(
                _t.c.user_id == user_id, _t.c.device_id == device_id, _t.c.conn_id == conn_id
            )
        )

    async def expire(self, used_before: int) -> int:
        """Forget every snapshot no request has presented since ``used_before``."""
        result = await self._conn.execute(delete(_t).where(_t.c.used_ts < used_before))
        return int(result.rowcount or 0)
