"""Content reports: stored, listed for the tenant's admins, resolved."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.rooms.tables import content_reports


@dataclass(frozen=True, slots=True)
class ContentReport:
    report_id: int
    tenant: str
    kind: str  # "event", "room" or "user"
    reporter: str
    room_id: str | None
    event_id: str | None
    target_user_id: str | None
    reason: str
    received_ts: int
    resolved_ts: int | None
    resolved_by: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "report_id": str(self.report_id),
            "kind": self.kind,
            "reporter": self.reporter,
            "room_id": self.room_id,
            "event_id": self.event_id,
            "target_user_id": self.target_user_id,
            "reason": self.reason,
            "received_ts": self.received_ts,
            "resolved": self.resolved_ts is not None,
            "resolved_ts": self.resolved_ts,
            "resolved_by": self.resolved_by,
        }


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """Which reports: every filter optional, combined with AND."""

    kind: str | None = None
    reporter: str | None = None
    room_id: str | None = None
    target_user_id: str | None = None
    resolved: bool | None = None


class ContentReportRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(
        self,
        *,
        tenant: str,
        kind: str,
        reporter: str,
        room_id: str | None,
        event_id: str | None,
        target_user_id: str | None,
        reason: str,
        received_ts: int,
    ) -> int:
        result = await self._conn.execute(
            insert(content_reports)
            .values(
                tenant=tenant,
                kind=kind,
                reporter=reporter,
                room_id=room_id,
                event_id=event_id,
                target_user_id=target_user_id,
                reason=reason,
                received_ts=received_ts,
            )
            .returning(content_reports.c.report_id)
        )
        report_id: int = result.scalar_one()
        return report_id

    async def get(self, tenant: str, report_id: int) -> ContentReport | None:
        c = content_reports.c
        stmt = select(content_reports).where(c.tenant == tenant, c.report_id == report_id)
        row = (await self._conn.execute(stmt)).first()
        return ContentReport(**row._mapping) if row else None

    async def page(
        self, tenant: str, query: ReportQuery, *, after_id: int, limit: int
    ) -> list[ContentReport]:
        """Reports with ``report_id > after_id``, oldest first."""
        c = content_reports.c
        conditions = [c.tenant == tenant, c.report_id > after_id]
        for column, value in (
            (c.kind, query.kind),
            (c.reporter, query.reporter),
            (c.room_id, query.room_id),
            (c.target_user_id, query.target_user_id),
        ):
            if value is not None:
                conditions.append(column == value)
        if query.resolved is not None:
            conditions.append(
                c.resolved_ts.isnot(None) if query.resolved else c.resolved_ts.is_(None)
            )
        stmt = select(content_reports).where(*conditions).order_by(c.report_id).limit(limit)
        return [ContentReport(**row._mapping) for row in await self._conn.execute(stmt)]

    async def resolve(self, tenant: str, report_id: int, *, by: str, ts: int) -> bool:
        """Mark a report resolved; False when it is unknown or resolved already."""
        c = content_reports.c
        result = await self._conn.execute(
            update(content_reports)
            .where(c.tenant == tenant, c.report_id == report_id, c.resolved_ts.is_(None))
            .values(resolved_ts=ts, resolved_by=by)
        )
        return bool(result.rowcount)
