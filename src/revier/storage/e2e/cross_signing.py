"""Cross-signing keys and the signatures uploaded for keys."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.events.types import JsonDict
from revier.storage.e2e.tables import e2e_cross_signing_keys, e2e_cross_signing_signatures


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
