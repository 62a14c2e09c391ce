"""Queued room work of units: a job per change, the users it has still to do."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.org.tables import unit_job_users, unit_jobs

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class UnitJob:
    job_id: int
    tenant: str
    unit_id: str
    action: str  # "add" or "remove"
    rooms: tuple[tuple[str, str], ...]  # (room ID, rule)
    reason: str
    actor: str
    users_total: int
    created_ts: int
    completed_ts: int | None


def _job(row: Row[Any]) -> UnitJob:
    m = row._mapping
    return UnitJob(
        job_id=m["job_id"],
        tenant=m["tenant"],
        unit_id=m["unit_id"],
        action=m["action"],
        rooms=tuple((r, rule) for r, rule in orjson.loads(m["rooms"])),
        reason=m["reason"],
        actor=m["actor"],
        users_total=m["users_total"],
        created_ts=m["created_ts"],
        completed_ts=m["completed_ts"],
    )


class UnitJobRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def create(
        self,
        *,
        tenant: str,
        unit_id: str,
        action: str,
        rooms: Sequence[tuple[str, str]],
        reason: str,
        actor: str,
        user_ids: Sequence[str],
        now: int,
    ) -> int:
        result = await self._conn.execute(
            insert(unit_jobs)
            .values(
                tenant=tenant,
                unit_id=unit_id,
                action=action,
                rooms=orjson.dumps([list(r) for r in rooms]).decode(),
                reason=reason,
                actor=actor,
                users_total=len(user_ids),
                created_ts=now,
            )
            .returning(unit_jobs.c.job_id)
        )
        job_id = int(result.scalar_one())
        ids = sorted(set(user_ids))
        for start in range(0, len(ids), _CHUNK):
            await self._conn.execute(
                insert(unit_job_users),
                [{"job_id": job_id, "user_id": u} for u in ids[start : start + _CHUNK]],
            )
        return job_id

    async def get(self, job_id: int) -> UnitJob | None:
        row = (
            await self._conn.execute(select(unit_jobs).where(unit_jobs.c.job_id == job_id))
        ).first()
        return _job(row) if row else None

    async def lock(self, job_id: int) -> UnitJob | None:
        """The job, locked until the transaction ends: two workers' batches of it
        take turns, and the second sees the first's progress."""
        stmt = select(unit_jobs).where(unit_jobs.c.job_id == job_id).with_for_update()
        row = (await self._conn.execute(stmt)).first()
        return _job(row) if row else None

    async def oldest_pending(self, tenant: str) -> UnitJob | None:
        stmt = (
            select(unit_jobs)
            .where(unit_jobs.c.tenant == tenant, unit_jobs.c.completed_ts.is_(None))
            .order_by(unit_jobs.c.job_id)
            .limit(1)
        )
        row = (await self._conn.execute(stmt)).first()
        return _job(row) if row else None

    async def tenants_pending(self) -> list[str]:
        stmt = select(unit_jobs.c.tenant).where(unit_jobs.c.completed_ts.is_(None)).distinct()
        return [r.tenant for r in await self._conn.execute(stmt)]

    async def pending_for_unit(self, unit_id: str) -> list[UnitJob]:
        stmt = (
            select(unit_jobs)
            .where(unit_jobs.c.unit_id == unit_id, unit_jobs.c.completed_ts.is_(None))
            .order_by(unit_jobs.c.job_id)
        )
        return [_job(r) for r in await self._conn.execute(stmt)]

    async def next_users(self, job_id: int, limit: int) -> list[str]:
        stmt = (
            select(unit_job_users.c.user_id)
            .where(unit_job_users.c.job_id == job_id)
            .order_by(unit_job_users.c.user_id)
            .limit(limit)
        )
        return [r.user_id for r in await self._conn.execute(stmt)]

    async def users_left(self, job_id: int) -> int:
        stmt = select(func.count()).where(unit_job_users.c.job_id == job_id)
        return int((await self._conn.execute(stmt)).scalar_one())

    async def done(self, job_id: int, user_ids: Sequence[str]) -> None:
        for start in range(0, len(user_ids), _CHUNK):
            await self._conn.execute(
                delete(unit_job_users).where(
                    unit_job_users.c.job_id == job_id,
                    unit_job_users.c.user_id.in_(user_ids[start : start + _CHUNK]),
                )
            )

    async def complete(self, job_id: int, now: int) -> None:
        await self._conn.execute(
            update(unit_jobs).where(unit_jobs.c.job_id == job_id).values(completed_ts=now)
        )
