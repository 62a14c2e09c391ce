"""The device-list stream: who changed their devices or cross-signing keys, when."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage import streams
from revier.storage.e2e.tables import device_list_changes
from revier.storage.streams import StreamChanges, in_window

# What every /sync asks, built once (see revier.storage.events).
_CHANGED_IN_WINDOW = (
    select(device_list_changes.c.user_id)
    .where(
        *in_window(device_list_changes.c.stream_ordering),
    )
    .distinct()
)


class DeviceListRepository:
    """The device-list stream: who changed their devices or cross-signing keys, when."""

    def __init__(self, conn: AsyncConnection, changes: StreamChanges) -> None:
        self._conn = conn
        self._changes = changes

    async def record(self, user_id: str, position: int) -> None:
        self._changes.record(position, streams.DEVICE_LIST, user_id)
        await self._conn.execute(
            insert(device_list_changes).values(user_id=user_id, stream_ordering=position)
        )

    async def changed_in_window(self, after: int, upto: int) -> set[str]:
        """Everyone with a change in (after, upto]: small for the short windows of /sync."""
        params = {"after": after, "upto": upto}
        return {row.user_id for row in await self._conn.execute(_CHANGED_IN_WINDOW, params)}
