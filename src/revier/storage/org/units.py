"""Units (the tree per tenant) and the account each tenant's units act as."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.org.tables import unit_service_users, units


@dataclass(frozen=True, slots=True)
class UnitRow:
    unit_id: str
    tenant: str
    external_id: str | None
    name: str
    parent_id: str | None
    space_room_id: str
    created_ts: int


class UnitRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def insert(self, row: UnitRow) -> None:
        """``storage.Conflict`` when the tenant has a unit of that external ID."""
        await self._conn.execute(
            insert(units).values(
                unit_id=row.unit_id,
                tenant=row.tenant,
                external_id=row.external_id,
                name=row.name,
                parent_id=row.parent_id,
                space_room_id=row.space_room_id,
                created_ts=row.created_ts,
            )
        )

    async def get(self, tenant: str, unit_id: str) -> UnitRow | None:
        stmt = select(units).where(units.c.tenant == tenant, units.c.unit_id == unit_id)
        row = (await self._conn.execute(stmt)).first()
        return UnitRow(**row._mapping) if row else None

    async def lock(self, tenant: str, unit_id: str) -> UnitRow | None:
        """The unit, locked until the transaction ends (two changes of it take turns)."""
        stmt = (
            select(units)
            .where(units.c.tenant == tenant, units.c.unit_id == unit_id)
            .with_for_update()
        )
        row = (await self._conn.execute(stmt)).first()
        return UnitRow(**row._mapping) if row else None

    async def by_external_id(self, tenant: str, external_id: str) -> UnitRow | None:
        stmt = select(units).where(units.c.tenant == tenant, units.c.external_id == external_id)
        row = (await self._conn.execute(stmt)).first()
        return UnitRow(**row._mapping) if row else None

    async def by_space(self, tenant: str, space_room_id: str) -> UnitRow | None:
        stmt = select(units).where(units.c.tenant == tenant, units.c.space_room_id == space_room_id)
        row = (await self._conn.execute(stmt)).first()
        return UnitRow(**row._mapping) if row else None

    async def all(self, tenant: str) -> list[UnitRow]:
        stmt = select(units).where(units.c.tenant == tenant).order_by(units.c.name, units.c.unit_id)
        return [UnitRow(**row._mapping) for row in await self._conn.execute(stmt)]

    async def parents(self, tenant: str) -> dict[str, str | None]:
        """unit ID → parent ID, for the whole tree (cycle checks walk it in memory)."""
        stmt = select(units.c.unit_id, units.c.parent_id).where(units.c.tenant == tenant)
        return {r.unit_id: r.parent_id for r in await self._conn.execute(stmt)}

    async def children(self, tenant: str, unit_id: str) -> list[UnitRow]:
        stmt = select(units).where(units.c.tenant == tenant, units.c.parent_id == unit_id)
        return [UnitRow(**row._mapping) for row in await self._conn.execute(stmt)]

    async def by_ids(self, tenant: str, unit_ids: list[str]) -> dict[str, UnitRow]:
        out: dict[str, UnitRow] = {}
        for start in range(0, len(unit_ids), 500):
            stmt = select(units).where(
                units.c.tenant == tenant, units.c.unit_id.in_(unit_ids[start : start + 500])
            )
            for row in await self._conn.execute(stmt):
                out[row.unit_id] = UnitRow(**row._mapping)
        return out

    async def rename(self, unit_id: str, name: str) -> None:
        await self._conn.execute(update(units).where(units.c.unit_id == unit_id).values(name=name))

    async def move(self, unit_id: str, parent_id: str | None) -> None:
        await self._conn.execute(
            update(units).where(units.c.unit_id == unit_id).values(parent_id=parent_id)
        )

    async def delete(self, unit_id: str) -> None:
        await self._conn.execute(delete(units).where(units.c.unit_id == unit_id))

    async def service_user(self, tenant: str) -> str | None:
        stmt = select(unit_service_users.c.user_id).where(unit_service_users.c.tenant == tenant)
        return (await self._conn.execute(stmt)).scalar_one_or_none()

    async def set_service_user(self, tenant: str, user_id: str) -> None:
        await self._conn.execute(insert(unit_service_users).values(tenant=tenant, user_id=user_id))
