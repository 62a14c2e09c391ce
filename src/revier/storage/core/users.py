"""Users: the accounts an organisation created."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.core.tables import users
from revier.storage.direct import Prepared

_GET = Prepared(select(users).where(users.c.user_id == bindparam("user")))


@dataclass(frozen=True, slots=True)
class User:
    user_id: str
    tenant: str
    localpart: str
    password_hash: str | None
    is_admin: bool
    deactivated: bool
    created_ts: int
    displayname: str | None
    avatar_url: str | None
    max_devices: int | None
    is_guest: bool = False
    locked: bool = False
    suspended: bool = False


class UserRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def create(self, user: User) -> None:
        await self._conn.execute(
            insert(users).values(
                user_id=user.user_id,
                tenant=user.tenant,
                localpart=user.localpart,
                password_hash=user.password_hash,
                is_admin=user.is_admin,
                deactivated=user.deactivated,
                created_ts=user.created_ts,
                displayname=user.displayname,
                avatar_url=user.avatar_url,
                max_devices=user.max_devices,
                is_guest=user.is_guest,
                locked=user.locked,
                suspended=user.suspended,
            )
        )

    async def get(self, user_id: str) -> User | None:
        row = (await _GET.rows(self._conn, {"user": user_id})).first()
        return User(**row._asdict()) if row else None

    async def lock(self, user_id: str) -> None:
        """Serialise concurrent writers for one user until the transaction ends.

        PostgreSQL takes a row lock; SQLite has a single writer already.
        """
        await self._conn.execute(
            select(users.c.user_id).where(users.c.user_id == user_id).with_for_update()
        )

    async def search(
        self,
        tenant: str,
        *,
        search: str | None = None,
        deactivated: bool | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[User]:
        """A page of the tenant's accounts by user ID; ``search`` matches the user ID
        or the display name, case-insensitively."""
        stmt = select(users).where(users.c.tenant == tenant)
        if search:
            needle = search.lower()
            stmt = stmt.where(
                or_(
                    func.lower(users.c.user_id).contains(needle, autoescape=True),
                    func.lower(func.coalesce(users.c.displayname, "")).contains(
                        needle, autoescape=True
                    ),
                )
            )
        if deactivated is not None:
            stmt = stmt.where(users.c.deactivated.is_(deactivated))
        stmt = stmt.order_by(users.c.user_id).limit(limit).offset(offset)
        return [User(**row._mapping) for row in await self._conn.execute(stmt)]

    async def tenants(self) -> set[str]:
        """The server_name of every tenant that has an account."""
        rows = await self._conn.execute(select(users.c.tenant).distinct())
        return {row.tenant for row in rows}

    async def count(self, tenant: str) -> int:
        stmt = select(func.count()).select_from(users).where(users.c.tenant == tenant)
        return int((await self._conn.execute(stmt)).scalar_one())

    async def set_password_hash(self, user_id: str, password_hash: str | None) -> None:
        await self._conn.execute(
            update(users).where(users.c.user_id == user_id).values(password_hash=password_hash)
        )

    async def upgrade_guest(
        self, user_id: str, *, password_hash: str, max_devices: int | None
    ) -> None:
        """A guest account becomes a full one (spec: guest_access_token at /register),
        with the device limit its registration token gives (None: the tenant's)."""
        await self._conn.execute(
            update(users)
            .where(users.c.user_id == user_id)
            .values(is_guest=False, password_hash=password_hash, max_devices=max_devices)
        )

    async def set_admin(self, user_id: str, is_admin: bool) -> None:
        await self._conn.execute(
            update(users).where(users.c.user_id == user_id).values(is_admin=is_admin)
        )

    async def set_moderation(
        self, user_id: str, *, locked: bool | None = None, suspended: bool | None = None
    ) -> None:
        values = {k: v for k, v in (("locked", locked), ("suspended", suspended)) if v is not None}
        if values:
            await self._conn.execute(
                update(users).where(users.c.user_id == user_id).values(**values)
            )

    async def set_max_devices(self, user_id: str, max_devices: int | None) -> None:
        """The user's own device limit; None falls back to the tenant's."""
        await self._conn.execute(
            update(users).where(users.c.user_id == user_id).values(max_devices=max_devices)
        )

    async def set_deactivated(self, user_id: str, deactivated: bool) -> None:
        await self._conn.execute(
            update(users).where(users.c.user_id == user_id).values(deactivated=deactivated)
        )

    async def set_profile(
        self, user_id: str, *, displayname: str | None, avatar_url: str | None
    ) -> None:
        await self._conn.execute(
            update(users)
            .where(users.c.user_id == user_id)
            .values(displayname=displayname, avatar_url=avatar_url)
        )
