"""Deactivations in progress: a row from the moment an account is closed until
the server has taken it out of its last room."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.accounts.tables import user_deactivations


@dataclass(frozen=True, slots=True)
class PendingDeactivation:
    user_id: str
    tenant: str
    actor: str | None  # who asked for it: a user ID or "cli:<os user>"
    requested_ts: int


class DeactivationRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, pending: PendingDeactivation) -> None:
        await self._conn.execute(
            insert(user_deactivations).values(
                user_id=pending.user_id,
                tenant=pending.tenant,
                actor=pending.actor,
                requested_ts=pending.requested_ts,
            )
        )

    async def get(self, user_id: str) -> PendingDeactivation | None:
        stmt = select(user_deactivations).where(user_deactivations.c.user_id == user_id)
        row = (await self._conn.execute(stmt)).first()
        return PendingDeactivation(**row._mapping) if row else None

    async def pending(self) -> list[PendingDeactivation]:
        """Every deactivation not yet complete, oldest first."""
        stmt = select(user_deactivations).order_by(user_deactivations.c.requested_ts)
        return [PendingDeactivation(**row._mapping) for row in await self._conn.execute(stmt)]

    async def delete(self, user_id: str) -> bool:
        """False when the row was gone already (another run completed it)."""
        result = await self._conn.execute(
            delete(user_deactivations).where(user_deactivations.c.user_id == user_id)
        )
        return bool(result.rowcount)
