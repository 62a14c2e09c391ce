"""Registration tokens (spec: "Token-authenticated registration"), and which
token a registration's UIA session completed its stage with."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.accounts.tables import registration_tokens


@dataclass(frozen=True, slots=True)
class RegistrationToken:
    token_id: str
    tenant: str
    uses_allowed: int | None
    pending: int
    completed: int
    expiry_time: int | None
    created_ts: int
    displayname_pattern: str | None
    max_devices: int | None

    def usable(self, now_ms: int) -> bool:
        """The spec's validity: not expired, and a use left."""
        if self.expiry_time is not None and self.expiry_time <= now_ms:
            return False
        return self.uses_allowed is None or self.pending + self.completed < self.uses_allowed


_COLUMNS = [c for c in registration_tokens.c if c.name != "token_hash"]


class RegistrationTokenRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def create(self, token: RegistrationToken, token_hash: bytes) -> None:
        await self._conn.execute(
            insert(registration_tokens).values(
                token_id=token.token_id,
                token_hash=token_hash,
                tenant=token.tenant,
                uses_allowed=token.uses_allowed,
                pending=token.pending,
                completed=token.completed,
                expiry_time=token.expiry_time,
                created_ts=token.created_ts,
                displayname_pattern=token.displayname_pattern,
                max_devices=token.max_devices,
            )
        )

    async def get(self, token_id: str) -> RegistrationToken | None:
        stmt = select(*_COLUMNS).where(registration_tokens.c.token_id == token_id)
        row = (await self._conn.execute(stmt)).first()
        return RegistrationToken(**row._mapping) if row else None

    async def by_hash(self, token_hash: bytes) -> RegistrationToken | None:
        stmt = select(*_COLUMNS).where(registration_tokens.c.token_hash == token_hash)
        row = (await self._conn.execute(stmt)).first()
        return RegistrationToken(**row._mapping) if row else None

    async def for_tenant(self, tenant: str) -> list[RegistrationToken]:
        stmt = (
            select(*_COLUMNS)
            .where(registration_tokens.c.tenant == tenant)
            .order_by(registration_tokens.c.created_ts, registration_tokens.c.token_id)
        )
        return [RegistrationToken(**row._mapping) for row in await self._conn.execute(stmt)]

    async def update(
        self, token_id: str, *, uses_allowed: int | None, expiry_time: int | None
    ) -> None:
        await self._conn.execute(
            update(registration_tokens)
            .where(registration_tokens.c.token_id == token_id)
            .values(uses_allowed=uses_allowed, expiry_time=expiry_time)
        )

    async def delete(self, token_id: str) -> bool:
        result = await self._conn.execute(
            delete(registration_tokens).where(registration_tokens.c.token_id == token_id)
        )
        return bool(result.rowcount)

    async def reserve(self, token_id: str, tenant: str, now_ms: int) -> bool:
        """Take one use, if one is left, in a single conditional UPDATE.

        The condition is evaluated on the row being updated (PostgreSQL re-checks
        it after waiting for a concurrent writer's lock; SQLite has one writer),
        so racing registrations can never take more uses than exist.
        """
        t = registration_tokens.c
        result = await self._conn.execute(
            update(registration_tokens)
            .where(
                t.token_id == token_id,
                t.tenant == tenant,
                or_(t.uses_allowed.is_(None), t.pending + t.completed < t.uses_allowed),
                or_(t.expiry_time.is_(None), t.expiry_time > now_ms),
            )
            .values(pending=t.pending + 1)
        )
        return result.rowcount == 1

    async def complete(self, token_id: str) -> None:
        """The reserved use became an account."""
        t = registration_tokens.c
        await self._conn.execute(
            update(registration_tokens)
            .where(t.token_id == token_id)
            .values(pending=t.pending - 1, completed=t.completed + 1)
        )

    async def release(self, token_id: str) -> None:
        """The reserved use was not spent (bad user name, weak password …)."""
        t = registration_tokens.c
        await self._conn.execute(
            update(registration_tokens)
            .where(and_(t.token_id == token_id, t.pending > 0))
            .values(pending=t.pending - 1)
        )
