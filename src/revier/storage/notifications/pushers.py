"""Pushers: where a user's pushes go, and how far the sender got with each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Row, bindparam, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.notifications.owed import own_rows, shared_rows
from revier.storage.notifications.tables import event_notifications, event_push_actions, pushers
from revier.storage.rooms.tables import memberships


@dataclass(frozen=True, slots=True)
class NewPusher:
    """What POST /pushers/set asks for (validated)."""

    user_id: str
    device_id: str
    kind: str
    app_id: str
    pushkey: str
    app_display_name: str
    device_display_name: str
    profile_tag: str | None
    lang: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Pusher:
    id: int
    user_id: str
    device_id: str
    kind: str
    app_id: str
    pushkey: str
    pushkey_ts: int
    app_display_name: str
    device_display_name: str
    profile_tag: str | None
    lang: str
    data: dict[str, Any]
    last_stream_ordering: int
    last_success_ts: int | None
    last_failure_ts: int | None
    failing_since: int | None
    duty_push_for: int | None


@dataclass(frozen=True, slots=True)
class Progress:
    """What the sender learnt of one pusher since it last wrote: written back in batches."""

    pusher_id: int
    last_stream_ordering: int
    succeeded: bool  # a push went out: last_success_ts is the time of the write
    failure: tuple[int | None, int | None] | None  # (last_failure_ts, failing_since), if changed


# Built once: a message to a big room writes these for hundreds of pushers.
_MOVED = (
    update(pushers)
    .where(pushers.c.id.in_(bindparam("ids", expanding=True)))
    .values(last_stream_ordering=bindparam("position"))
)
_SUCCEEDED = _MOVED.values(last_success_ts=bindparam("now"))
_FAILURE = (
    update(pushers)
    .where(pushers.c.id == bindparam("pid"))
    .values(last_failure_ts=bindparam("failure"), failing_since=bindparam("failing"))
)


def _pusher(row: Row[Any]) -> Pusher:
    values = dict(row._mapping)
    values["data"] = orjson.loads(values["data"])
    return Pusher(**values)


class PusherRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def for_users(self, user_ids: Sequence[str]) -> list[Pusher]:
        stmt = select(pushers).where(pushers.c.user_id.in_(user_ids)).order_by(pushers.c.id)
        return [_pusher(row) for row in await self._conn.execute(stmt)]

    async def all(self) -> list[Pusher]:
        stmt = select(pushers).order_by(pushers.c.id)
        return [_pusher(row) for row in await self._conn.execute(stmt)]

    async def get(self, pusher_id: int) -> Pusher | None:
        row = (await self._conn.execute(select(pushers).where(pushers.c.id == pusher_id))).first()
        return _pusher(row) if row else None

    async def upsert(self, new: NewPusher, *, now_ms: int, position: int) -> None:
        """Create the user's pusher for (app_id, pushkey), or update it. An update
        keeps the device that first made it (the spec binds a pusher to a session;
        re-registering from another one must not move it) and, like a new pusher,
        starts at ``position``: nothing older is pushed."""
        values = {
            "kind": new.kind,
            "pushkey_ts": now_ms,
            "app_display_name": new.app_display_name,
            "device_display_name": new.device_display_name,
            "profile_tag": new.profile_tag,
            "lang": new.lang,
            "data": orjson.dumps(new.data).decode(),
            "last_stream_ordering": position,
        }
        result = await self._conn.execute(
            update(pushers).where(*self._pair(new.user_id, new.app_id, new.pushkey)).values(values)
        )
        if result.rowcount == 0:
            await self._conn.execute(
                insert(pushers).values(
                    user_id=new.user_id,
                    device_id=new.device_id,
                    app_id=new.app_id,
                    pushkey=new.pushkey,
                    **values,
                )
            )

    async def delete(self, user_id: str, app_id: str, pushkey: str) -> bool:
        result = await self._conn.execute(
            delete(pushers).where(*self._pair(user_id, app_id, pushkey))
        )
        return bool(result.rowcount)

    async def delete_others(self, user_id: str, app_id: str, pushkey: str) -> list[str]:
        """Other users' pushers with the same app and pushkey (POST /pushers/set
        without ``append``: one phone, one account); returns whose went."""
        where = (
            pushers.c.app_id == app_id,
            pushers.c.pushkey == pushkey,
            pushers.c.user_id != user_id,
        )
        owners = [r[0] for r in await self._conn.execute(select(pushers.c.user_id).where(*where))]
        if owners:
            await self._conn.execute(delete(pushers).where(*where))
        return owners

    async def delete_for_devices(self, user_id: str, device_ids: Sequence[str]) -> bool:
        result = await self._conn.execute(
            delete(pushers).where(pushers.c.user_id == user_id, pushers.c.device_id.in_(device_ids))
        )
        return bool(result.rowcount)

    async def delete_by_id(self, pusher_id: int) -> bool:
        result = await self._conn.execute(delete(pushers).where(pushers.c.id == pusher_id))
        return bool(result.rowcount)

    async def save_progress(self, progress: Sequence[Progress], now_ms: int) -> None:
        """Many pushers' progress in few statements: pushers at the same position (a
        message to a room moves all its members' pushers there) share one UPDATE.
        Rows gone meanwhile are skipped."""
        groups: dict[tuple[int, bool], list[int]] = {}
        for p in progress:
            groups.setdefault((p.last_stream_ordering, p.succeeded), []).append(p.pusher_id)
        for (position, succeeded), ids in groups.items():
            params = {"ids": ids, "position": position, "now": now_ms}
            await self._conn.execute(_SUCCEEDED if succeeded else _MOVED, params)
        failures = [
            {"pid": p.pusher_id, "failure": p.failure[0], "failing": p.failure[1]}
            for p in progress
            if p.failure is not None
        ]
        if failures:
            await self._conn.execute(_FAILURE, failures)

    async def set_duty_push_for(self, pusher_id: int, since_ts: int) -> None:
        await self._conn.execute(
            update(pushers).where(pushers.c.id == pusher_id).values(duty_push_for=since_ts)
        )

    async def users_owed(self) -> set[str]:
        """Users one of whose pushers has push actions after its position: what was
        still to be sent when the server last stopped."""
        a, e, m = event_push_actions, event_notifications, memberships
        after = pushers.c.last_stream_ordering
        own = own_rows(a.c.user_id == pushers.c.user_id, a.c.stream_ordering > after)
        shared = shared_rows(m.c.user_id == pushers.c.user_id, e.c.stream_ordering > after)
        stmt = select(pushers.c.user_id).where(or_(own.exists(), shared.exists()))
        return {row[0] for row in await self._conn.execute(stmt)}

    @staticmethod
    def _pair(user_id: str, app_id: str, pushkey: str) -> tuple[Any, ...]:
        return (
            pushers.c.user_id == user_id,
            pushers.c.app_id == app_id,
            pushers.c.pushkey == pushkey,
        )
