"""The user directory: finding a tenant's active accounts by name."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.core.tables import users
from revier.storage.core.users import User


class UserDirectoryRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def search(
        self, tenant: str, term: str, *, limit: int, among: Collection[str] | None = None
    ) -> list[User]:
        """Active users of ``tenant`` whose localpart or display name contains ``term``,
        or whose user ID starts with it (so "@ann" and a pasted full ID both work,
        while the server name, common to all, matches nobody by itself).

        Case-insensitive; ``among`` narrows the search to those user IDs. Ordered
        by user ID, at most ``limit`` rows.
        """
        needle = term.lower()
        stmt = select(users).where(
            users.c.tenant == tenant,
            users.c.deactivated.is_(False),
            or_(
                func.lower(users.c.localpart).contains(needle, autoescape=True),
                func.lower(users.c.user_id).startswith(needle, autoescape=True),
                func.lower(func.coalesce(users.c.displayname, "")).contains(
                    needle, autoescape=True
                ),
            ),
        )
        if among is not None:
            if not among:
                return []
            stmt = stmt.where(users.c.user_id.in_(list(among)))
        stmt = stmt.order_by(users.c.user_id).limit(limit)
        return [User(**row._mapping) for row in await self._conn.execute(stmt)]
