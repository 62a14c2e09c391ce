"""Account data: per-user JSON, global or per room, a small per-user stream."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from sqlalchemy import and_, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.events.types import JsonDict
from revier.storage import streams
from revier.storage.core.tables import account_data, ignored_users
from revier.storage.direct import Prepared
from revier.storage.streams import StreamChanges, in_window

# One item of a user's account data (a room's or the global one, room_id "").
_GET = Prepared(
    select(account_data.c.content).where(
        account_data.c.user_id == bindparam("user"),
        account_data.c.room_id == bindparam("room"),
        account_data.c.type == bindparam("type_"),
    )
)

_START = -1
"""Below every stream position: "changed after _START" is "ever changed"."""

# What every /sync asks, built once (see revier.storage.events).
_ACCOUNT_DATA_CHANGED = select(account_data).where(
    account_data.c.user_id == bindparam("user"),
    *in_window(account_data.c.stream_ordering),
)


@dataclass(frozen=True, slots=True)
class AccountData:
    room_id: str  # "" for global
    type: str
    content: JsonDict
    stream_ordering: int


class AccountDataRepository:
    def __init__(self, conn: AsyncConnection, changes: StreamChanges) -> None:
        self._conn = conn
        self._changes = changes

    async def put(
        self, user_id: str, room_id: str, data_type: str, content: JsonDict, position: int
    ) -> None:
        where = and_(
            account_data.c.user_id == user_id,
            account_data.c.room_id == room_id,
            account_data.c.type == data_type,
        )
        self._changes.record(position, streams.ACCOUNT_DATA, user_id)
        values = {"content": orjson.dumps(content).decode(), "stream_ordering": position}
        result = await self._conn.execute(update(account_data).where(where).values(**values))
        if result.rowcount == 0:
            await self._conn.execute(
                insert(account_data).values(
                    user_id=user_id, room_id=room_id, type=data_type, **values
                )
            )

    async def get(self, user_id: str, room_id: str, data_type: str) -> JsonDict | None:
        params = {"user": user_id, "room": room_id, "type_": data_type}
        value = (await _GET.rows(self._conn, params)).scalar()
        return orjson.loads(value) if value is not None else None

    async def of_type(self, user_id: str, data_type: str) -> dict[str, JsonDict]:
        """room_id -> content of one type of the user's room account data (``m.tag``)."""
        stmt = select(account_data.c.room_id, account_data.c.content).where(
            account_data.c.user_id == user_id,
            account_data.c.type == data_type,
            account_data.c.room_id != "",
        )
        return {r.room_id: orjson.loads(r.content) for r in await self._conn.execute(stmt)}

    async def of_rooms(self, user_id: str, room_ids: Sequence[str]) -> dict[str, list[AccountData]]:
        """room_id -> the user's account data in it, for many rooms (those with any)."""
        out: dict[str, list[AccountData]] = {}
        for start in range(0, len(room_ids), 500):
            stmt = select(account_data).where(
                account_data.c.user_id == user_id,
                account_data.c.room_id.in_(room_ids[start : start + 500]),
            )
            for r in await self._conn.execute(stmt):
                data = AccountData(r.room_id, r.type, orjson.loads(r.content), r.stream_ordering)
                out.setdefault(r.room_id, []).append(data)
        return out

    async def of_users(self, user_ids: Sequence[str], data_type: str) -> dict[str, JsonDict]:
        stmt = select(account_data.c.user_id, account_data.c.content).where(
            account_data.c.user_id.in_(user_ids),
            account_data.c.room_id == "",
            account_data.c.type == data_type,
        )
        return {row[0]: orjson.loads(row[1]) for row in await self._conn.execute(stmt)}

    async def changed(self, user_id: str, after: int | None, upto: int) -> list[AccountData]:
        params = {"user": user_id, "after": _START if after is None else after, "upto": upto}
        return [
            AccountData(r.room_id, r.type, orjson.loads(r.content), r.stream_ordering)
            for r in await self._conn.execute(_ACCOUNT_DATA_CHANGED, params)
        ]

    async def forget_room(self, room_id: str) -> None:
        """A purged room's per-user data (tags, read markers, drafts) goes with it."""
        await self._conn.execute(delete(account_data).where(account_data.c.room_id == room_id))

    async def forget_user(self, user_id: str) -> None:
        """All of a user's account data, global and per room (an erased account)."""
        await self._conn.execute(delete(account_data).where(account_data.c.user_id == user_id))


class IgnoredUsersRepository:
    """The ``ignored_users`` rows: each user's m.ignored_user_list, by who is ignored."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def replace(self, ignorer: str, ignored: frozenset[str]) -> None:
        await self._conn.execute(
            delete(ignored_users).where(ignored_users.c.ignorer_user_id == ignorer)
        )
        if ignored:
            await self._conn.execute(
                insert(ignored_users),
                [{"ignorer_user_id": ignorer, "ignored_user_id": u} for u in sorted(ignored)],
            )

    async def ignorers_of(self, user_id: str) -> set[str]:
        stmt = select(ignored_users.c.ignorer_user_id).where(
            ignored_users.c.ignored_user_id == user_id
        )
        return {row.ignorer_user_id for row in await self._conn.execute(stmt)}
