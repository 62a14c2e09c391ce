"""Cross-signing keys, the signatures uploaded for keys, and the device-list stream."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from sqlalchemy import and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.events.types import JsonDict
from revier.storage.schema import (
    device_list_changes,
    e2e_cross_signing_keys,
    e2e_cross_signing_signatures,
    memberships,
)
from revier.storage.streams import in_window

# What every /sync asks, built once (see revier.storage.events).
_CHANGED_IN_WINDOW = (
    select(device_list_changes.c.user_id)
    .where(
        *in_window(device_list_changes.c.stream_ordering),
    )
    .distinct()
)
_MEMBERSHIP_CHANGES = select(memberships.c.user_id, memberships.c.membership).where(
    memberships.c.room_id.in_(bindparam("rooms", expanding=True)),
    *in_window(memberships.c.stream_ordering),
)


@dataclass(frozen=True, slots=True)
class CrossSigningKey:
    user_id: str
    key_type: str  # master, self_signing, user_signing
    public_key: str
    key: JsonDict


@dataclass(frozen=True, slots=True)
class Signature:
    signer_user_id: str
    signer_key_id: str
    target_user_id: str
    target_key_id: str
    signature: str


class CrossSigningRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def keys_of(
        self, user_ids: Sequence[str], key_types: Sequence[str] | None = None
    ) -> list[CrossSigningKey]:
        stmt = select(e2e_cross_signing_keys).where(
            e2e_cross_signing_keys.c.user_id.in_(list(user_ids))
        )
        if key_types is not None:
            stmt = stmt.where(e2e_cross_signing_keys.c.key_type.in_(list(key_types)))
        return [
            CrossSigningKey(row.user_id, row.key_type, row.public_key, orjson.loads(row.key_json))
            for row in await self._conn.execute(stmt)
        ]

    async def get(self, user_id: str, key_type: str) -> CrossSigningKey | None:
        found = await self.keys_of([user_id], [key_type])
        return found[0] if found else None

    async def put(self, key: CrossSigningKey) -> None:
        where = and_(
            e2e_cross_signing_keys.c.user_id == key.user_id,
            e2e_cross_signing_keys.c.key_type == key.key_type,
        )
        values = {"public_key": key.public_key, "key_json": orjson.dumps(key.key).decode()}
        result = await self._conn.execute(
            update(e2e_cross_signing_keys).where(where).values(**values)
        )
        if result.rowcount == 0:
            await self._conn.execute(
                insert(e2e_cross_signing_keys).values(
                    user_id=key.user_id, key_type=key.key_type, **values
                )
            )

    async def add_signature(self, sig: Signature) -> None:
        where = and_(
            e2e_cross_signing_signatures.c.target_user_id == sig.target_user_id,
            e2e_cross_signing_signatures.c.target_key_id == sig.target_key_id,
            e2e_cross_signing_signatures.c.signer_user_id == sig.signer_user_id,
            e2e_cross_signing_signatures.c.signer_key_id == sig.signer_key_id,
        )
        result = await self._conn.execute(
            update(e2e_cross_signing_signatures).where(where).values(signature=sig.signature)
        )
        if result.rowcount == 0:
            await self._conn.execute(
                insert(e2e_cross_signing_signatures).values(
                    target_user_id=sig.target_user_id,
                    target_key_id=sig.target_key_id,
                    signer_user_id=sig.signer_user_id,
                    signer_key_id=sig.signer_key_id,
                    signature=sig.signature,
                )
            )

    async def signatures_on(self, target_user_ids: Sequence[str], viewer: str) -> list[Signature]:
        """Signatures on these users' keys that ``viewer`` may see.

        A user's signatures of their own keys are public; a signature of
        someone else's master key (by a user-signing key) is the signer's
        private judgement, shown to the signer alone.
        """
        t = e2e_cross_signing_signatures
        stmt = select(t).where(
            t.c.target_user_id.in_(list(target_user_ids)),
            or_(t.c.signer_user_id == t.c.target_user_id, t.c.signer_user_id == viewer),
        )
        return [Signature(**row._mapping) for row in await self._conn.execute(stmt)]

    async def delete_signatures_on_devices(self, user_id: str, device_ids: Sequence[str]) -> None:
        t = e2e_cross_signing_signatures
        await self._conn.execute(
            delete(t).where(t.c.target_user_id == user_id, t.c.target_key_id.in_(list(device_ids)))
        )

    async def delete_for_user(self, user_id: str) -> bool:
        """Drop a user's cross-signing keys and every signature made by or on them
        (deactivation); whether the user had any keys."""
        keys = e2e_cross_signing_keys
        sigs = e2e_cross_signing_signatures
        await self._conn.execute(
            delete(sigs).where(
                or_(sigs.c.signer_user_id == user_id, sigs.c.target_user_id == user_id)
            )
        )
        result = await self._conn.execute(delete(keys).where(keys.c.user_id == user_id))
        return bool(result.rowcount)


class DeviceListRepository:
    """The device-list stream: who changed their devices or cross-signing keys, when."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def record(self, user_id: str, position: int) -> None:
        await self._conn.execute(
            insert(device_list_changes).values(user_id=user_id, stream_ordering=position)
        )

    async def changed_in_window(self, after: int, upto: int) -> set[str]:
        """Everyone with a change in (after, upto]: small for the short windows of /sync."""
        params = {"after": after, "upto": upto}
        return {row.user_id for row in await self._conn.execute(_CHANGED_IN_WINDOW, params)}

    async def joined_members(self, room_ids: Sequence[str]) -> set[str]:
        stmt = (
            select(memberships.c.user_id)
            .where(memberships.c.room_id.in_(list(room_ids)), memberships.c.membership == "join")
            .distinct()
        )
        return {row.user_id for row in await self._conn.execute(stmt)}

    async def membership_changes(
        self, room_ids: Sequence[str], after: int, upto: int
    ) -> list[tuple[str, str]]:
        """(user_id, membership) of those whose membership in these rooms changed in the window."""
        if not room_ids:
            return []
        params = {"rooms": list(room_ids), "after": after, "upto": upto}
        rows = await self._conn.execute(_MEMBERSHIP_CHANGES, params)
        return [(row.user_id, row.membership) for row in rows]
