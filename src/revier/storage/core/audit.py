"""The audit log: appended to, read, and pseudonymised — never edited or deleted."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import orjson
from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.core.tables import audit_log, tenant_policies


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    ts: int
    tenant: str
    actor: str | None
    action: str
    target: str | None
    source: str | None
    details: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ts": self.ts,
            "tenant": self.tenant,
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "source": self.source,
            "details": self.details,
        }


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which entries: all filters are optional and combine with AND."""

    actor: str | None = None
    target: str | None = None
    # An exact action ("device.wiped") or a family ending in "." ("device.").
    action: str | None = None
    since_ts: int | None = None
    until_ts: int | None = None

    def filters(self) -> dict[str, Any]:
        """The filters that are set (to record what an export selected)."""
        return {k: v for k, v in asdict(self).items() if v is not None}


class AuditRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def append(
        self,
        *,
        ts: int,
        tenant: str,
        actor: str | None,
        action: str,
        target: str | None,
        source: str | None,
        details: dict[str, Any] | None,
    ) -> None:
        await self._conn.execute(
            insert(audit_log).values(
                ts=ts,
                tenant=tenant,
                actor=actor,
                action=action,
                target=target,
                source=source,
                source_pseudonymised=False,
                details=orjson.dumps(details).decode() if details else None,
            )
        )

    async def page(
        self, tenant: str, query: AuditQuery, *, after_id: int, limit: int
    ) -> list[AuditEntry]:
        """Entries with id > ``after_id``, oldest first."""
        c = audit_log.c
        conditions = [c.tenant == tenant, c.id > after_id]
        if query.actor is not None:
            conditions.append(c.actor == query.actor)
        if query.target is not None:
            conditions.append(c.target == query.target)
        if query.action is not None:
            if query.action.endswith("."):
                conditions.append(c.action.startswith(query.action, autoescape=True))
            else:
                conditions.append(c.action == query.action)
        if query.since_ts is not None:
            conditions.append(c.ts >= query.since_ts)
        if query.until_ts is not None:
            conditions.append(c.ts < query.until_ts)
        stmt = (
            select(c.id, c.ts, c.tenant, c.actor, c.action, c.target, c.source, c.details)
            .where(and_(*conditions))
            .order_by(c.id)
            .limit(limit)
        )
        return [
            AuditEntry(
                id=row.id,
                ts=row.ts,
                tenant=row.tenant,
                actor=row.actor,
                action=row.action,
                target=row.target,
                source=row.source,
                details=orjson.loads(row.details) if row.details else {},
            )
            for row in await self._conn.execute(stmt)
        ]

    async def pseudonymise_before(
        self, tenant: str, before_ts: int, pseudonym: Callable[[str], str], *, limit: int
    ) -> int:
        """Replace the source address of up to ``limit`` entries older than
        ``before_ts`` by its pseudonym; how many were changed."""
        c = audit_log.c
        rows = (
            await self._conn.execute(
                select(c.id, c.source)
                .where(
                    c.tenant == tenant,
                    c.ts < before_ts,
                    c.source_pseudonymised.is_(False),
                )
                .order_by(c.id)
                .limit(limit)
            )
        ).all()
        # One UPDATE per address (few per batch), not per entry; and only rows
        # still unmarked, so a second worker doing the same batch changes nothing.
        by_source: dict[str | None, list[int]] = defaultdict(list)
        for row in rows:
            by_source[row.source].append(row.id)
        for source, ids in by_source.items():
            await self._conn.execute(
                update(audit_log)
                .where(c.id.in_(ids), c.source_pseudonymised.is_(False))
                .values(source=pseudonym(source) if source else None, source_pseudonymised=True)
            )
        return len(rows)


class TenantPolicyRepository:
    """The policy each tenant last started with."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, tenant: str) -> dict[str, Any] | None:
        row = (
            await self._conn.execute(
                select(tenant_policies.c.policy).where(tenant_policies.c.tenant == tenant)
            )
        ).first()
        return orjson.loads(row.policy) if row else None

    async def tenants(self) -> set[str]:
        """The server_name of every tenant that has started."""
        return set((await self._conn.execute(select(tenant_policies.c.tenant))).scalars())

    async def put(self, tenant: str, policy: dict[str, Any], ts: int) -> None:
        await self._conn.execute(delete(tenant_policies).where(tenant_policies.c.tenant == tenant))
        await self._conn.execute(
            insert(tenant_policies).values(
                tenant=tenant,
                policy=orjson.dumps(policy, option=orjson.OPT_SORT_KEYS).decode(),
                updated_ts=ts,
            )
        )
