"""Second factors, recovery codes and WebAuthn challenges of each user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.signin.tables import recovery_codes, second_factors, webauthn_challenges

f = second_factors


@dataclass(frozen=True, slots=True)
class FactorRow:
    factor_id: str
    user_id: str
    tenant: str
    kind: str
    name: str
    active: bool
    secret: bytes
    credential_id: bytes | None
    sign_count: int
    last_step: int | None
    created_ts: int
    last_used_ts: int | None


_COLUMNS = (
    f.c.factor_id,
    f.c.user_id,
    f.c.tenant,
    f.c.kind,
    f.c.name,
    f.c.active,
    f.c.secret,
    f.c.credential_id,
    f.c.sign_count,
    f.c.last_step,
    f.c.created_ts,
    f.c.last_used_ts,
)


class FactorRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, row: FactorRow) -> None:
        await self._conn.execute(insert(f).values({c.name: getattr(row, c.name) for c in _COLUMNS}))

    async def of_user(self, user_id: str, *, for_update: bool = False) -> list[FactorRow]:
        """The user's factors, oldest first; ``for_update``: locked until the
        transaction ends (PostgreSQL), so two codes checked at once take turns."""
        stmt = select(*_COLUMNS).where(f.c.user_id == user_id).order_by(f.c.created_ts)
        if for_update:
            stmt = stmt.with_for_update()
        return [_row(row) for row in await self._conn.execute(stmt)]

    async def by_credential(self, credential_id: bytes) -> FactorRow | None:
        stmt = select(*_COLUMNS).where(f.c.credential_id == credential_id)
        row = (await self._conn.execute(stmt)).first()
        return _row(row) if row else None

    async def used(
        self,
        factor_id: str,
        *,
        now: int,
        last_step: int | None = None,
        sign_count: int | None = None,
    ) -> None:
        values: dict[str, object] = {"last_used_ts": now}
        if last_step is not None:
            values["last_step"] = last_step
        if sign_count is not None:
            values["sign_count"] = sign_count
        await self._conn.execute(update(f).where(f.c.factor_id == factor_id).values(values))

    async def activate(self, factor_id: str, *, last_step: int, now: int) -> None:
        await self._conn.execute(
            update(f)
            .where(f.c.factor_id == factor_id)
            .values(active=True, last_step=last_step, last_used_ts=now)
        )

    async def delete(self, user_id: str, factor_id: str) -> bool:
        result = await self._conn.execute(
            delete(f).where(f.c.user_id == user_id, f.c.factor_id == factor_id)
        )
        return bool(result.rowcount)

    async def delete_kind(self, user_id: str, kind: str, *, active: bool | None = None) -> None:
        stmt = delete(f).where(f.c.user_id == user_id, f.c.kind == kind)
        if active is not None:
            stmt = stmt.where(f.c.active == active)
        await self._conn.execute(stmt)

    async def delete_all(self, user_id: str) -> int:
        """Every factor, recovery code and open challenge of the user; the factors' count."""
        result = await self._conn.execute(delete(f).where(f.c.user_id == user_id))
        await self._conn.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user_id))
        await self._conn.execute(
            delete(webauthn_challenges).where(webauthn_challenges.c.user_id == user_id)
        )
        return int(result.rowcount or 0)

    # Recovery codes

    async def replace_codes(self, user_id: str, hashes: list[bytes], *, now: int) -> None:
        await self._conn.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user_id))
        if hashes:
            await self._conn.execute(
                insert(recovery_codes),
                [{"user_id": user_id, "code_hash": h, "created_ts": now} for h in hashes],
            )

    async def code_hashes(self, user_id: str) -> list[bytes]:
        stmt = select(recovery_codes.c.code_hash).where(recovery_codes.c.user_id == user_id)
        return [row[0] for row in await self._conn.execute(stmt)]

    async def codes_left(self, user_id: str) -> int:
        stmt = select(func.count()).where(recovery_codes.c.user_id == user_id)
        return int((await self._conn.execute(stmt)).scalar_one())

    async def spend_code(self, user_id: str, code_hash: bytes) -> bool:
        """Delete the code; False if it was spent meanwhile (it works once)."""
        result = await self._conn.execute(
            delete(recovery_codes).where(
                recovery_codes.c.user_id == user_id, recovery_codes.c.code_hash == code_hash
            )
        )
        return bool(result.rowcount)

    # WebAuthn challenges

    async def put_challenge(
        self, user_id: str, purpose: str, challenge: bytes, *, expires_ts: int
    ) -> None:
        """The user's open challenge for ``purpose``; a newer one replaces it."""
        c = webauthn_challenges
        await self._conn.execute(delete(c).where(c.c.user_id == user_id, c.c.purpose == purpose))
        await self._conn.execute(
            insert(c).values(
                user_id=user_id, purpose=purpose, challenge=challenge, expires_ts=expires_ts
            )
        )

    async def take_challenge(self, user_id: str, purpose: str, *, now: int) -> bytes | None:
        """The open challenge, deleted (single use); None if there is none or it expired."""
        c = webauthn_challenges
        where = (c.c.user_id == user_id, c.c.purpose == purpose)
        row = (
            await self._conn.execute(select(c.c.challenge, c.c.expires_ts).where(*where))
        ).first()
        if row is None:
            return None
        result = await self._conn.execute(delete(c).where(*where, c.c.challenge == row[0]))
        if not result.rowcount or row[1] <= now:
            return None  # answered meanwhile, or too late
        return bytes(row[0])

    async def forget_expired_challenges(self, now: int) -> None:
        c = webauthn_challenges
        await self._conn.execute(delete(c).where(c.c.expires_ts <= now))


def _row(row: Row[*tuple[Any, ...]]) -> FactorRow:
    return FactorRow(**row._mapping)
