"""Duty hours set by the organisation, and the users whose pushes are held back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.notifications.tables import duty_schedules, pushes_held

TENANT_DEFAULT = ""  # the user_id of a tenant's default row


@dataclass(frozen=True, slots=True)
class DutyRow:
    """One row of ``duty_schedules``: the weekly hours and the switch, as set (JSON)."""

    user_id: str
    schedule: Any | None
    override: Any | None
    updated_ts: int


class DutyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def rows(self, tenant: str, user_ids: Sequence[str]) -> dict[str, DutyRow]:
        """The rows of these users and the tenant's default (key ``TENANT_DEFAULT``)."""
        stmt = select(duty_schedules).where(
            duty_schedules.c.tenant == tenant,
            duty_schedules.c.user_id.in_([TENANT_DEFAULT, *user_ids]),
        )
        out = {}
        for row in await self._conn.execute(stmt):
            out[row.user_id] = DutyRow(
                row.user_id,
                orjson.loads(row.schedule) if row.schedule is not None else None,
                orjson.loads(row.override) if row.override is not None else None,
                row.updated_ts,
            )
        return out

    async def put(self, tenant: str, user_id: str, now_ms: int, **fields: Any) -> None:
        """Set ``schedule`` and/or ``override`` (JSON values; None clears one)."""
        values: dict[str, Any] = {
            k: (orjson.dumps(v).decode() if v is not None else None) for k, v in fields.items()
        }
        values["updated_ts"] = now_ms
        where = (duty_schedules.c.tenant == tenant, duty_schedules.c.user_id == user_id)
        result = await self._conn.execute(update(duty_schedules).where(*where).values(values))
        if result.rowcount == 0:
            await self._conn.execute(
                insert(duty_schedules).values(tenant=tenant, user_id=user_id, **values)
            )
        await self._conn.execute(
            delete(duty_schedules).where(
                *where, duty_schedules.c.schedule.is_(None), duty_schedules.c.override.is_(None)
            )
        )

    async def held_since(self, user_id: str) -> int | None:
        stmt = select(pushes_held.c.since_ts).where(pushes_held.c.user_id == user_id)
        return (await self._conn.execute(stmt)).scalar_one_or_none()

    async def hold(self, user_ids: Sequence[str], now_ms: int) -> None:
        """Note that pushes of these users are being held back (if not noted yet)."""
        if not user_ids:
            return
        known = await self._conn.execute(
            select(pushes_held.c.user_id).where(pushes_held.c.user_id.in_(user_ids))
        )
        new = set(user_ids) - {row[0] for row in known}
        if new:
            await self._conn.execute(
                insert(pushes_held), [{"user_id": u, "since_ts": now_ms} for u in sorted(new)]
            )

    async def release(self, user_id: str, since_ts: int) -> None:
        """The duty-start pushes for what was held since ``since_ts`` are out."""
        await self._conn.execute(
            delete(pushes_held).where(
                pushes_held.c.user_id == user_id, pushes_held.c.since_ts == since_ts
            )
        )

    async def all_held(self) -> dict[str, int]:
        stmt = select(pushes_held.c.user_id, pushes_held.c.since_ts)
        return {row[0]: int(row[1]) for row in await self._conn.execute(stmt)}
