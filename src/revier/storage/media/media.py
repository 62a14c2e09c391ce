"""Media metadata: who uploaded what, how big, where its bytes are kept."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.media.tables import media, media_thumbnails


@dataclass(frozen=True)
class MediaRecord:
    server_name: str
    media_id: str
    uploader: str
    content_type: str | None
    upload_name: str | None
    size: int | None
    sha256: str | None
    created_ts: int
    unused_expires_ts: int | None
    quarantined: bool
    storage_key: str

    @property
    def uploaded(self) -> bool:
        return self.size is not None


@dataclass(frozen=True)
class ThumbnailRecord:
    width: int
    height: int
    method: str
    content_type: str
    size: int
    storage_key: str


def _record(row: RowMapping) -> MediaRecord:
    return MediaRecord(
        server_name=row["server_name"],
        media_id=row["media_id"],
        uploader=row["uploader"],
        content_type=row["content_type"],
        upload_name=row["upload_name"],
        size=row["size"],
        sha256=row["sha256"],
        created_ts=row["created_ts"],
        unused_expires_ts=row["unused_expires_ts"],
        quarantined=bool(row["quarantined"]),
        storage_key=row["storage_key"],
    )


class MediaRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, record: MediaRecord) -> None:
        await self._conn.execute(
            insert(media).values(
                server_name=record.server_name,
                media_id=record.media_id,
                uploader=record.uploader,
                content_type=record.content_type,
                upload_name=record.upload_name,
                size=record.size,
                sha256=record.sha256,
                created_ts=record.created_ts,
                unused_expires_ts=record.unused_expires_ts,
                quarantined=record.quarantined,
                storage_key=record.storage_key,
            )
        )

    async def get(self, server_name: str, media_id: str) -> MediaRecord | None:
        stmt = select(media).where(media.c.server_name == server_name, media.c.media_id == media_id)
        row = (await self._conn.execute(stmt)).mappings().first()
        return _record(row) if row else None

    async def complete(
        self,
        server_name: str,
        media_id: str,
        *,
        content_type: str | None,
        upload_name: str | None,
        size: int,
        sha256: str,
        storage_key: str,
    ) -> bool:
        """Fill in a reserved ID's content; False when it was filled in already."""
        stmt = (
            update(media)
            .where(
                media.c.server_name == server_name,
                media.c.media_id == media_id,
                media.c.size.is_(None),
            )
            .values(
                content_type=content_type,
                upload_name=upload_name,
                size=size,
                sha256=sha256,
                storage_key=storage_key,
                unused_expires_ts=None,
            )
        )
        return (await self._conn.execute(stmt)).rowcount == 1

    async def bytes_used(self, uploader: str) -> int:
        stmt = select(func.coalesce(func.sum(media.c.size), 0)).where(media.c.uploader == uploader)
        return int((await self._conn.execute(stmt)).scalar_one())

    async def pending_count(self, uploader: str, now_ms: int) -> int:
        stmt = (
            select(func.count())
            .select_from(media)
            .where(
                media.c.uploader == uploader,
                media.c.size.is_(None),
                media.c.unused_expires_ts > now_ms,
            )
        )
        return int((await self._conn.execute(stmt)).scalar_one())

    async def expired(self, now_ms: int, limit: int = 100) -> list[MediaRecord]:
        stmt = (
            select(media)
            .where(media.c.size.is_(None), media.c.unused_expires_ts <= now_ms)
            .limit(limit)
        )
        return [_record(r) for r in (await self._conn.execute(stmt)).mappings()]

    async def for_uploader(
        self, uploader: str, *, offset: int = 0, limit: int | None = None
    ) -> list[MediaRecord]:
        stmt = (
            select(media)
            .where(media.c.uploader == uploader)
            .order_by(media.c.created_ts, media.c.server_name, media.c.media_id)
            .offset(offset)
            .limit(limit)
        )
        return [_record(r) for r in (await self._conn.execute(stmt)).mappings()]

    async def set_quarantined(self, server_name: str, media_id: str, quarantined: bool) -> bool:
        stmt = (
            update(media)
            .where(media.c.server_name == server_name, media.c.media_id == media_id)
            .values(quarantined=quarantined)
        )
        return (await self._conn.execute(stmt)).rowcount == 1

    async def remove(self, server_name: str, media_id: str) -> None:
        for table in (media_thumbnails, media):
            await self._conn.execute(
                delete(table).where(
                    table.c.server_name == server_name, table.c.media_id == media_id
                )
            )

    async def thumbnails(self, server_name: str, media_id: str) -> list[ThumbnailRecord]:
        t = media_thumbnails.c
        stmt = select(media_thumbnails).where(t.server_name == server_name, t.media_id == media_id)
        return [
            ThumbnailRecord(
                r["width"], r["height"], r["method"], r["content_type"], r["size"], r["storage_key"]
            )
            for r in (await self._conn.execute(stmt)).mappings()
        ]

    async def add_thumbnail(self, server_name: str, media_id: str, thumb: ThumbnailRecord) -> None:
        await self._conn.execute(
            insert(media_thumbnails).values(
                server_name=server_name,
                media_id=media_id,
                width=thumb.width,
                height=thumb.height,
                method=thumb.method,
                content_type=thumb.content_type,
                size=thumb.size,
                storage_key=thumb.storage_key,
            )
        )
