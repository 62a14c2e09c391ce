"""Server-side key backups: versions and the encrypted session keys they hold."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.events.types import JsonDict
from revier.storage.e2e.tables import e2e_room_keys, e2e_room_keys_versions


@dataclass(frozen=True, slots=True)
class BackupVersion:
    user_id: str
    version: int
    algorithm: str
    auth_data: JsonDict
    etag: int


@dataclass(frozen=True, slots=True)
class RoomKey:
    room_id: str
    session_id: str
    first_message_index: int
    forwarded_count: int
    is_verified: bool
    session_data: JsonDict


class KeyBackupRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def create_version(self, user_id: str, algorithm: str, auth_data: JsonDict) -> int:
        """A new version, numbered after every earlier one (deleted ones too: never reused)."""
        v = e2e_room_keys_versions
        version = await self.highest_version(user_id) + 1
        await self._conn.execute(
            insert(v).values(
                user_id=user_id,
                version=version,
                algorithm=algorithm,
                auth_data=orjson.dumps(auth_data).decode(),
                etag=0,
                deleted=False,
            )
        )
        return version

    async def highest_version(self, user_id: str) -> int:
        """The highest version ever created (deleted ones included); 0 when none."""
        v = e2e_room_keys_versions
        stmt = select(func.max(v.c.version)).where(v.c.user_id == user_id)
        return int((await self._conn.execute(stmt)).scalar_one() or 0)

    async def version(self, user_id: str, version: int | None) -> BackupVersion | None:
        """The named version, or the newest one when ``version`` is None; never a deleted one."""
        v = e2e_room_keys_versions
        stmt = select(v).where(v.c.user_id == user_id, v.c.deleted.is_(False))
        if version is None:
            stmt = stmt.order_by(v.c.version.desc()).limit(1)
        else:
            stmt = stmt.where(v.c.version == version)
        row = (await self._conn.execute(stmt)).first()
        if row is None:
            return None
        return BackupVersion(
            row.user_id, row.version, row.algorithm, orjson.loads(row.auth_data), row.etag
        )

    async def set_auth_data(self, user_id: str, version: int, auth_data: JsonDict) -> None:
        v = e2e_room_keys_versions
        await self._conn.execute(
            update(v)
            .where(v.c.user_id == user_id, v.c.version == version)
            .values(auth_data=orjson.dumps(auth_data).decode())
        )

    async def delete_version(self, user_id: str, version: int) -> None:
        v = e2e_room_keys_versions
        await self._conn.execute(
            update(v).where(v.c.user_id == user_id, v.c.version == version).values(deleted=True)
        )
        await self.delete_keys(user_id, version, None, None)

    async def delete_all(self, user_id: str) -> None:
        """Every backup of the user goes (deactivation); the version rows stay, marked
        deleted, so a later backup never reuses a number a client still remembers."""
        v = e2e_room_keys_versions
        await self._conn.execute(update(v).where(v.c.user_id == user_id).values(deleted=True))
        await self._conn.execute(delete(e2e_room_keys).where(e2e_room_keys.c.user_id == user_id))

    async def bump_etag(self, user_id: str, version: int) -> None:
        v = e2e_room_keys_versions
        await self._conn.execute(
            update(v)
            .where(v.c.user_id == user_id, v.c.version == version)
            .values(etag=v.c.etag + 1)
        )

    async def count(self, user_id: str, version: int) -> int:
        k = e2e_room_keys
        stmt = select(func.count()).where(k.c.user_id == user_id, k.c.version == version)
        return int((await self._conn.execute(stmt)).scalar_one())

    async def keys(
        self, user_id: str, version: int, room_id: str | None, session_id: str | None
    ) -> list[RoomKey]:
        k = e2e_room_keys
        stmt = select(k).where(k.c.user_id == user_id, k.c.version == version)
        if room_id is not None:
            stmt = stmt.where(k.c.room_id == room_id)
        if session_id is not None:
            stmt = stmt.where(k.c.session_id == session_id)
        return [
            RoomKey(
                row.room_id,
                row.session_id,
                row.first_message_index,
                row.forwarded_count,
                row.is_verified,
                orjson.loads(row.session_data),
            )
            for row in await self._conn.execute(stmt)
        ]

    async def put_keys(self, user_id: str, version: int, keys: Sequence[RoomKey]) -> None:
        """Insert or replace; the service has already decided which keys win."""
        k = e2e_room_keys
        for key in keys:
            where = and_(
                k.c.user_id == user_id,
                k.c.version == version,
                k.c.room_id == key.room_id,
                k.c.session_id == key.session_id,
            )
            values = {
                "first_message_index": key.first_message_index,
                "forwarded_count": key.forwarded_count,
                "is_verified": key.is_verified,
                "session_data": orjson.dumps(key.session_data).decode(),
            }
            result = await self._conn.execute(update(k).where(where).values(**values))
            if result.rowcount == 0:
                await self._conn.execute(
                    insert(k).values(
                        user_id=user_id,
                        version=version,
                        room_id=key.room_id,
                        session_id=key.session_id,
                        **values,
                    )
                )

    async def delete_keys(
        self, user_id: str, version: int, room_id: str | None, session_id: str | None
    ) -> int:
        k = e2e_room_keys
        stmt = delete(k).where(k.c.user_id == user_id, k.c.version == version)
        if room_id is not None:
            stmt = stmt.where(k.c.room_id == room_id)
        if session_id is not None:
            stmt = stmt.where(k.c.session_id == session_id)
        return int((await self._conn.execute(stmt)).rowcount)
