"""Devices: which devices an account has, their names and when they were last seen."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.core.tables import devices


@dataclass(frozen=True, slots=True)
class Device:
    user_id: str
    device_id: str
    display_name: str | None
    created_ts: int
    last_seen_ts: int | None
    last_seen_ip: str | None


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

    async def touch(self, user_id: str, device_id: str, *, ts: int, ip: str | None) -> None:
        await self._conn.execute(
            update(devices)
            .where(devices.c.user_id == user_id, devices.c.device_id == device_id)
            .values(last_seen_ts=ts, last_seen_ip=ip)
        )

    async def delete(self, user_id: str, device_ids: list[str]) -> list[str]:
        """Delete the named devices; returns those that existed."""
        stmt = (
            delete(devices)
            .where(devices.c.user_id == user_id, devices.c.device_id.in_(device_ids))
            .returning(devices.c.device_id)
        )
        return [row.device_id for row in await self._conn.execute(stmt)]
