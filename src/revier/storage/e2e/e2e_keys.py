"""Device keys, one-time and fallback keys: what /keys/upload stores and /keys/claim hands out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from sqlalchemy import (
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.events.types import JsonDict
from revier.storage import streams
from revier.storage.core.tables import devices, users
from revier.storage.e2e.tables import (
    e2e_device_keys,
    e2e_fallback_keys,
    e2e_key_claims,
    e2e_one_time_keys,
)
from revier.storage.streams import StreamChanges

# Statements built once (see revier.storage.events).
_OF_DEVICE = {
    table: (table.c.user_id == bindparam("user"), table.c.device_id == bindparam("device"))
    for table in (e2e_one_time_keys, e2e_fallback_keys, e2e_key_claims)
}
_OTK_COUNTS = (
    select(e2e_one_time_keys.c.algorithm, func.count())
    .where(*_OF_DEVICE[e2e_one_time_keys])
    .group_by(e2e_one_time_keys.c.algorithm)
)
# The three at once, for every /sync and sliding-sync request (a woken
# long-poll's fixed cost): rows of (what, algorithm, number).
_KEY_STATE = union_all(
    select(literal("otk"), e2e_one_time_keys.c.algorithm, func.count())
    .where(*_OF_DEVICE[e2e_one_time_keys])
    .group_by(e2e_one_time_keys.c.algorithm),
    select(literal("fallback"), e2e_fallback_keys.c.algorithm, literal(0)).where(
        *_OF_DEVICE[e2e_fallback_keys], e2e_fallback_keys.c.used.is_(False)
    ),
    select(literal("claim"), literal(""), e2e_key_claims.c.stream_ordering).where(
        *_OF_DEVICE[e2e_key_claims]
    ),
)


@dataclass(frozen=True, slots=True)
class KeyState:
    """What /sync tells a device of its own keys, and when its keys were last claimed."""

    one_time_key_counts: dict[str, int]
    unused_fallback_key_types: list[str]
    last_claim: int | None


@dataclass(frozen=True, slots=True)
class DeviceKeys:
    user_id: str
    device_id: str
    keys: JsonDict
    display_name: str | None


@dataclass(frozen=True, slots=True)
class ClaimedKey:
    key_id: str  # "<algorithm>:<key_id>"
    key: JsonDict | str


def _dumps(value: JsonDict | str) -> str:
    return orjson.dumps(value).decode()


class E2eKeyRepository:
    def __init__(self, conn: AsyncConnection, *, is_sqlite: bool, changes: StreamChanges) -> None:
        self._conn = conn
        self._changes = changes
        self._is_sqlite = is_sqlite

    # --- device keys ---------------------------------------------------------

    async def device_keys(self, user_id: str, device_id: str) -> JsonDict | None:
        stmt = select(e2e_device_keys.c.key_json).where(
            e2e_device_keys.c.user_id == user_id, e2e_device_keys.c.device_id == device_id
        )
        raw = (await self._conn.execute(stmt)).scalar_one_or_none()
        return orjson.loads(raw) if raw is not None else None

    async def set_device_keys(self, user_id: str, device_id: str, keys: JsonDict) -> None:
        where = and_(e2e_device_keys.c.user_id == user_id, e2e_device_keys.c.device_id == device_id)
        result = await self._conn.execute(
            update(e2e_device_keys).where(where).values(key_json=_dumps(keys))
        )
        if result.rowcount == 0:
            await self._conn.execute(
                insert(e2e_device_keys).values(
                    user_id=user_id, device_id=device_id, key_json=_dumps(keys)
                )
            )

    async def device_keys_of(self, user_ids: Sequence[str]) -> list[DeviceKeys]:
        """The keys of every existing device of these users, with its display name."""
        stmt = (
            select(
                e2e_device_keys.c.user_id,
                e2e_device_keys.c.device_id,
                e2e_device_keys.c.key_json,
                devices.c.display_name,
            )
            .join(
                devices,
                and_(
                    devices.c.user_id == e2e_device_keys.c.user_id,
                    devices.c.device_id == e2e_device_keys.c.device_id,
                ),
            )
            .where(e2e_device_keys.c.user_id.in_(list(user_ids)))
        )
        return [
            DeviceKeys(row.user_id, row.device_id, orjson.loads(row.key_json), row.display_name)
            for row in await self._conn.execute(stmt)
        ]

    async def existing_users(self, user_ids: Sequence[str]) -> set[str]:
        stmt = select(users.c.user_id).where(users.c.user_id.in_(list(user_ids)))
        return {row.user_id for row in await self._conn.execute(stmt)}

    # --- one-time keys -------------------------------------------------------

    async def one_time_keys(
        self, user_id: str, device_id: str, ids: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], JsonDict | str]:
        """Those of the (algorithm, key_id) pairs the device holds unclaimed, with their key."""
        if not ids:
            return {}
        stmt = select(
            e2e_one_time_keys.c.algorithm, e2e_one_time_keys.c.key_id, e2e_one_time_keys.c.key_json
        ).where(
            e2e_one_time_keys.c.user_id == user_id,
            e2e_one_time_keys.c.device_id == device_id,
            tuple_(e2e_one_time_keys.c.algorithm, e2e_one_time_keys.c.key_id).in_(list(ids)),
        )
        return {
            (row.algorithm, row.key_id): orjson.loads(row.key_json)
            for row in await self._conn.execute(stmt)
        }

    async def add_one_time_keys(
        self,
        user_id: str,
        device_id: str,
        keys: Sequence[tuple[str, str, JsonDict | str]],
        position: int,
    ) -> None:
        """``position``: the upload's stream position (the device's key counts change)."""
        if not keys:
            return
        self._record_keys(user_id, device_id, position)
        await self._conn.execute(
            insert(e2e_one_time_keys),
            [
                {
                    "user_id": user_id,
                    "device_id": device_id,
                    "algorithm": algorithm,
                    "key_id": key_id,
                    "key_json": _dumps(key),
                }
                for algorithm, key_id, key in keys
            ],
        )

    async def one_time_key_counts(self, user_id: str, device_id: str) -> dict[str, int]:
        rows = await self._conn.execute(_OTK_COUNTS, {"user": user_id, "device": device_id})
        return {row[0]: int(row[1]) for row in rows}

    async def claim_one_time_key(
        self, user_id: str, device_id: str, algorithm: str
    ) -> ClaimedKey | None:
        """Take the oldest unclaimed key: deleted and returned by one statement.

        A key is handed out at most once because the DELETE that returns it is
        the claim. On PostgreSQL the candidate row is locked with SKIP LOCKED,
        so concurrent claimers each take a different row instead of queueing
        on the same one (and a claimer finding every row taken falls through
        to the fallback key). SQLite has a single writer: the statements run
        one after the other.
        """
        oldest = (
            select(e2e_one_time_keys.c.id)
            .where(
                e2e_one_time_keys.c.user_id == user_id,
                e2e_one_time_keys.c.device_id == device_id,
                e2e_one_time_keys.c.algorithm == algorithm,
            )
            .order_by(e2e_one_time_keys.c.id)
            .limit(1)
        )
        if not self._is_sqlite:
            oldest = oldest.with_for_update(skip_locked=True)
        stmt = (
            delete(e2e_one_time_keys)
            .where(e2e_one_time_keys.c.id == oldest.scalar_subquery())
            .returning(e2e_one_time_keys.c.key_id, e2e_one_time_keys.c.key_json)
        )
        row = (await self._conn.execute(stmt)).first()
        if row is None:
            return None
        return ClaimedKey(f"{algorithm}:{row.key_id}", orjson.loads(row.key_json))

    # --- fallback keys -------------------------------------------------------

    async def set_fallback_key(
        self,
        user_id: str,
        device_id: str,
        algorithm: str,
        key_id: str,
        key: JsonDict | str,
        position: int,
    ) -> None:
        """Replace the fallback key for ``algorithm``; the same key again keeps its state."""
        self._record_keys(user_id, device_id, position)
        where = and_(
            e2e_fallback_keys.c.user_id == user_id,
            e2e_fallback_keys.c.device_id == device_id,
            e2e_fallback_keys.c.algorithm == algorithm,
        )
        stmt = select(e2e_fallback_keys.c.key_id, e2e_fallback_keys.c.key_json).where(where)
        existing = (await self._conn.execute(stmt)).first()
        if existing is not None:
            if existing.key_id == key_id and orjson.loads(existing.key_json) == key:
                return
            await self._conn.execute(delete(e2e_fallback_keys).where(where))
        await self._conn.execute(
            insert(e2e_fallback_keys).values(
                user_id=user_id,
                device_id=device_id,
                algorithm=algorithm,
                key_id=key_id,
                key_json=_dumps(key),
                used=False,
            )
        )

    async def claim_fallback_key(
        self, user_id: str, device_id: str, algorithm: str
    ) -> ClaimedKey | None:
        """The fallback key, marked used; it stays for the next claimer."""
        stmt = (
            update(e2e_fallback_keys)
            .where(
                e2e_fallback_keys.c.user_id == user_id,
                e2e_fallback_keys.c.device_id == device_id,
                e2e_fallback_keys.c.algorithm == algorithm,
            )
            .values(used=True)
            .returning(e2e_fallback_keys.c.key_id, e2e_fallback_keys.c.key_json)
        )
        row = (await self._conn.execute(stmt)).first()
        if row is None:
            return None
        return ClaimedKey(f"{algorithm}:{row.key_id}", orjson.loads(row.key_json))

    # --- claims as a stream --------------------------------------------------

    def _record_keys(self, user_id: str, device_id: str, position: int) -> None:
        key = streams.device_key(user_id, device_id)
        self._changes.record(position, streams.ONE_TIME_KEYS, key)

    async def note_claim(self, user_id: str, device_id: str, position: int) -> None:
        self._record_keys(user_id, device_id, position)
        where = and_(e2e_key_claims.c.user_id == user_id, e2e_key_claims.c.device_id == device_id)
        result = await self._conn.execute(
            update(e2e_key_claims).where(where).values(stream_ordering=position)
        )
        if result.rowcount == 0:
            await self._conn.execute(
                insert(e2e_key_claims).values(
                    user_id=user_id, device_id=device_id, stream_ordering=position
                )
            )

    async def key_state(self, user_id: str, device_id: str) -> KeyState:
        """Counts, fallback types and last claim of the device, in one statement."""
        counts: dict[str, int] = {}
        fallback: list[str] = []
        last_claim = None
        for what, algorithm, number in await self._conn.execute(
            _KEY_STATE, {"user": user_id, "device": device_id}
        ):
            if what == "otk":
                counts[algorithm] = int(number)
            elif what == "fallback":
                fallback.append(algorithm)
            else:
                last_claim = int(number)
        return KeyState(counts, sorted(fallback), last_claim)

    # --- device removal ------------------------------------------------------

    async def delete_for_devices(self, user_id: str, device_ids: Sequence[str]) -> bool:
        """Delete every key of these devices; True if one of them had published device keys."""
        had_keys = False
        for table in (e2e_device_keys, e2e_one_time_keys, e2e_fallback_keys, e2e_key_claims):
            result = await self._conn.execute(
                delete(table).where(
                    table.c.user_id == user_id, table.c.device_id.in_(list(device_ids))
                )
            )
            had_keys = had_keys or (table is e2e_device_keys and result.rowcount > 0)
        return had_keys
