"""Devices: which devices an account has, their names and when they were last seen."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.core.tables import devices, users


@dataclass(frozen=True, slots=True)
class Device:
    user_id: str
    device_id: str
    display_name: str | None
    created_ts: int
    last_seen_ts: int | None
    last_seen_ip: str | None
    client_name: str | None = None
    client_version: str | None = None


class DeviceRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def create(self, device: Device) -> None:
        await self._conn.execute(
            insert(devices).values(
                user_id=device.user_id,
                device_id=device.device_id,
                display_name=device.display_name,
                created_ts=device.created_ts,
                last_seen_ts=device.last_seen_ts,
                last_seen_ip=device.last_seen_ip,
            )
        )

    async def get(self, user_id: str, device_id: str) -> Device | None:
        stmt = select(devices).where(devices.c.user_id == user_id, devices.c.device_id == device_id)
        row = (await self._conn.execute(stmt)).first()
        return Device(**row._mapping) if row else None

    async def for_user(self, user_id: str) -> list[Device]:
        stmt = select(devices).where(devices.c.user_id == user_id).order_by(devices.c.created_ts)
        return [Device(**row._mapping) for row in await self._conn.execute(stmt)]

    async def count(self, user_id: str) -> int:
        stmt = select(func.count()).select_from(devices).where(devices.c.user_id == user_id)
        return int((await self._conn.execute(stmt)).scalar_one())

    async def set_display_name(self, user_id: str, device_id: str, display_name: str) -> bool:
        result = await self._conn.execute(
            update(devices)
            .where(devices.c.user_id == user_id, devices.c.device_id == device_id)
            .values(display_name=display_name)
        )
        return result.rowcount > 0

    async def touch(
        self,
        user_id: str,
        device_id: str,
        *,
        ts: int,
        ip: str | None,
        client: tuple[str, str] | None = None,
    ) -> None:
        values: dict[str, object] = {"last_seen_ts": ts, "last_seen_ip": ip}
        if client is not None:
            values["client_name"], values["client_version"] = client
        await self._conn.execute(
            update(devices)
            .where(devices.c.user_id == user_id, devices.c.device_id == device_id)
            .values(**values)
        )

    async def client_versions(self, tenant: str) -> list[tuple[str, str, int]]:
        """(client name, version, devices) over the tenant's devices whose client
        is known; a query over ``users`` for the tenant (one round trip)."""
        stmt = (
            select(devices.c.client_name, devices.c.client_version, func.count())
            .join(users, users.c.user_id == devices.c.user_id)
            .where(users.c.tenant == tenant, devices.c.client_name.isnot(None))
            .group_by(devices.c.client_name, devices.c.client_version)
            .order_by(devices.c.client_name, devices.c.client_version)
        )
        return [(r[0], r[1] or "", int(r[2])) for r in await self._conn.execute(stmt)]

    async def delete(self, user_id: str, device_ids: list[str]) -> list[str]:
        """Delete the named devices; returns those that existed."""
        stmt = (
            delete(devices)
            .where(devices.c.user_id == user_id, devices.c.device_id.in_(device_ids))
            .returning(devices.c.device_id)
        )
        return [row.device_id for row in await self._conn.execute(stmt)]
