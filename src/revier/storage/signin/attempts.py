"""Failed sign-in attempts per account and per address (the lockout's counts)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.signin.tables import signin_failures as t


@dataclass(frozen=True, slots=True)
class Failures:
    failures: int
    code_failures: int
    last_failure_ts: int
    locked_ts: int | None


class AttemptRepository:
    def __init__(self, conn: AsyncConnection, *, is_sqlite: bool) -> None:
        self._conn = conn
        self._is_sqlite = is_sqlite

    async def get(self, tenant: str, subject: str) -> Failures | None:
        row = (
            await self._conn.execute(
                select(t.c.failures, t.c.code_failures, t.c.last_failure_ts, t.c.locked_ts).where(
                    t.c.tenant == tenant, t.c.subject == subject
                )
            )
        ).first()
        return Failures(*row) if row else None

    async def add_failure(
        self, tenant: str, subject: str, *, code: bool, now: int, forget_before: int
    ) -> Failures:
        """One more failure, atomically (two workers' failures both count); a row
        whose last failure is older than ``forget_before`` starts again at one."""
        insert = sqlite.insert(t) if self._is_sqlite else postgresql.insert(t)
        # A lock stays until someone lifts it, however old.
        restart = (t.c.last_failure_ts < forget_before) & t.c.locked_ts.is_(None)
        stmt = insert.values(
            tenant=tenant,
            subject=subject,
            failures=1,
            code_failures=int(code),
            last_failure_ts=now,
        ).on_conflict_do_update(
            index_elements=[t.c.tenant, t.c.subject],
            set_={
                "failures": case((restart, 1), else_=t.c.failures + 1),
                "code_failures": case((restart, int(code)), else_=t.c.code_failures + int(code)),
                "last_failure_ts": now,
            },
        )
        await self._conn.execute(stmt)
        found = await self.get(tenant, subject)
        assert found is not None
        return found

    async def set_locked(self, tenant: str, subject: str, now: int) -> None:
        await self._conn.execute(
            update(t).where(t.c.tenant == tenant, t.c.subject == subject).values(locked_ts=now)
        )

    async def forget(self, tenant: str, subject: str) -> None:
        await self._conn.execute(delete(t).where(t.c.tenant == tenant, t.c.subject == subject))

    async def forget_old(self, tenant: str, before: int) -> int:
        """The tenant's rows whose last failure is older than ``before`` and hold no lock."""
        result = await self._conn.execute(
            delete(t).where(
                t.c.tenant == tenant, t.c.last_failure_ts < before, t.c.locked_ts.is_(None)
            )
        )
        return int(result.rowcount or 0)
