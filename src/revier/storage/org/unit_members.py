"""Who belongs to which unit, with a role ("member" or "lead"), and the rooms
attached to units with their rule."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.org.tables import unit_members, unit_rooms, units


class UnitMemberRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def of_user(self, tenant: str, user_id: str) -> dict[str, str]:
        """unit ID → role, for the user's units in the tenant."""
        stmt = (
            select(unit_members.c.unit_id, unit_members.c.role)
            .join(units, units.c.unit_id == unit_members.c.unit_id)
            .where(unit_members.c.user_id == user_id, units.c.tenant == tenant)
        )
        return {r.unit_id: r.role for r in await self._conn.execute(stmt)}

    async def members(
        self, unit_id: str, *, after: str = "", limit: int | None = None
    ) -> list[tuple[str, str]]:
        """(user ID, role) by user ID, from after ``after``."""
        stmt = (
            select(unit_members.c.user_id, unit_members.c.role)
            .where(unit_members.c.unit_id == unit_id, unit_members.c.user_id > after)
            .order_by(unit_members.c.user_id)
            .limit(limit)
        )
        return [(r.user_id, r.role) for r in await self._conn.execute(stmt)]

    async def count(self, unit_id: str) -> int:
        stmt = select(func.count()).where(unit_members.c.unit_id == unit_id)
        return int((await self._conn.execute(stmt)).scalar_one())

    async def add(self, unit_id: str, user_id: str, role: str) -> None:
        await self._conn.execute(
            insert(unit_members).values(unit_id=unit_id, user_id=user_id, role=role)
        )

    async def set_role(self, unit_id: str, user_id: str, role: str) -> None:
        await self._conn.execute(
            update(unit_members)
            .where(unit_members.c.unit_id == unit_id, unit_members.c.user_id == user_id)
            .values(role=role)
        )

    async def remove(self, unit_id: str, user_id: str) -> None:
        await self._conn.execute(
            delete(unit_members).where(
                unit_members.c.unit_id == unit_id, unit_members.c.user_id == user_id
            )
        )

    async def remove_all(self, unit_id: str) -> None:
        await self._conn.execute(delete(unit_members).where(unit_members.c.unit_id == unit_id))

    async def grants(
        self, user_ids: Sequence[str], room_ids: Sequence[str]
    ) -> dict[tuple[str, str], set[tuple[str, str]]]:
        """(user ID, room ID) → the (rule, role) pairs through which the users'
        units give the rooms; a pair missing: no unit gives it. One query per 500."""
        out: dict[tuple[str, str], set[tuple[str, str]]] = {}
        if not user_ids or not room_ids:
            return out
        for start in range(0, len(user_ids), 500):
            stmt = (
                select(
                    unit_members.c.user_id,
                    unit_rooms.c.room_id,
                    unit_rooms.c.rule,
                    unit_members.c.role,
                )
                .join(unit_members, unit_members.c.unit_id == unit_rooms.c.unit_id)
                .where(
                    unit_members.c.user_id.in_(user_ids[start : start + 500]),
                    unit_rooms.c.room_id.in_(room_ids),
                )
            )
            for r in await self._conn.execute(stmt):
                out.setdefault((r.user_id, r.room_id), set()).add((r.rule, r.role))
        return out

    async def spaces_of_users(self, user_ids: Sequence[str]) -> dict[str, set[str]]:
        """user ID → the space rooms of the user's units."""
        out: dict[str, set[str]] = {}
        for start in range(0, len(user_ids), 500):
            stmt = (
                select(unit_members.c.user_id, units.c.space_room_id)
                .join(unit_members, unit_members.c.unit_id == units.c.unit_id)
                .where(unit_members.c.user_id.in_(user_ids[start : start + 500]))
            )
            for r in await self._conn.execute(stmt):
                out.setdefault(r.user_id, set()).add(r.space_room_id)
        return out


class UnitRoomRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def of_unit(self, unit_id: str) -> dict[str, str]:
        """room ID → rule."""
        stmt = select(unit_rooms.c.room_id, unit_rooms.c.rule).where(
            unit_rooms.c.unit_id == unit_id
        )
        return {r.room_id: r.rule for r in await self._conn.execute(stmt)}

    async def get(self, unit_id: str, room_id: str) -> str | None:
        stmt = select(unit_rooms.c.rule).where(
            unit_rooms.c.unit_id == unit_id, unit_rooms.c.room_id == room_id
        )
        return (await self._conn.execute(stmt)).scalar_one_or_none()

    async def units_of_room(self, room_id: str) -> list[str]:
        stmt = select(unit_rooms.c.unit_id).where(unit_rooms.c.room_id == room_id)
        return [r.unit_id for r in await self._conn.execute(stmt)]

    async def attach(self, unit_id: str, room_id: str, rule: str) -> None:
        await self._conn.execute(
            insert(unit_rooms).values(unit_id=unit_id, room_id=room_id, rule=rule)
        )

    async def detach(self, unit_id: str, room_id: str) -> None:
        await self._conn.execute(
            delete(unit_rooms).where(
                unit_rooms.c.unit_id == unit_id, unit_rooms.c.room_id == room_id
            )
        )

    async def detach_all(self, unit_id: str) -> None:
        await self._conn.execute(delete(unit_rooms).where(unit_rooms.c.unit_id == unit_id))
