"""The content repository: uploads, downloads, thumbnails, quotas, admin actions.

Bytes never pass through memory whole: an upload is streamed to a temporary
file (hashed, counted and cut off at the limit while it arrives), then handed
to the media store; downloads stream from the store in chunks.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.to_thread

from revier.config import MediaSettings
from revier.errors import (
    CannotOverwriteMedia,
    Forbidden,
    LimitExceeded,
    NotFound,
    NotYetUploaded,
    TooLarge,
    Unknown,
)
from revier.policy.media import THUMBNAIL_TYPES, base_type, pick_thumbnail_size, valid_media_id
from revier.services.accounts import local_user
from revier.services.audit import Actor, AuditLog
from revier.services.clock import Clock
from revier.services.ratelimit import RateLimiter
from revier.services.requester import Requester
from revier.services.tenants import Tenant
from revier.services.thumbnails import make_thumbnail
from revier.storage import Store
from revier.storage.media import MediaRecord, ThumbnailRecord
from revier.storage.media_store import MediaStore
from revier.storage.store import Conflict

MAX_PENDING_UPLOADS = 50
MAX_WAIT_MS = 60_000
# Larger originals are not thumbnailed (M_TOO_LARGE), whatever their pixel count.
MAX_THUMBNAIL_SOURCE_BYTES = 64 * 1024 * 1024
_WRITE_BUFFER = 1024 * 1024


@dataclass(frozen=True)
class Upload:
    chunks: AsyncIterator[bytes]
    content_type: str | None
    filename: str | None
    declared_length: int | None


@dataclass(frozen=True)
class Received:
    path: Path
    size: int
    sha256: str


@dataclass(frozen=True)
class Served:
    """What to send back: the bytes' key, type, length and (for downloads) name."""

    storage_key: str
    content_type: str
    size: int
    filename: str | None


class MediaService:
    def __init__(
        self,
        store: Store,
        media_store: MediaStore,
        clock: Clock,
        settings: MediaSettings,
        upload_limiter: RateLimiter,
        audit: AuditLog,
    ) -> None:
        self._store = store
        self._audit = audit
        self._files = media_store
        self._clock = clock
        self._settings = settings
        self._limiter = upload_limiter
        # In-process wake-ups for downloads waiting on an asynchronous upload.
        self._arrived: dict[tuple[str, str], anyio.Event] = {}
        self._waiting: Counter[tuple[str, str]] = Counter()
        # Held while a thumbnail of the item is generated (so it is made once).
        self._thumb_locks: dict[tuple[str, str], anyio.Lock] = {}

    # -- uploads ---------------------------------------------------------

    async def upload(self, requester: Requester, upload: Upload) -> str:
        """POST /_matrix/media/v3/upload: a new media ID with its content."""
        self._limiter.check(requester.user_id)
        received = await self._receive(requester, upload)
        server_name = requester.tenant.server_name
        media_id = _new_media_id()
        key = _storage_key(server_name, media_id)
        try:
            await self._files.put(key, received.path, base_type(upload.content_type))
        finally:
            await anyio.Path(received.path).unlink(
                missing_ok=True
            )  # gone already unless put failed
        async with self._store.transaction() as tx:
            await tx.media.add(
                MediaRecord(
                    server_name=server_name,
                    media_id=media_id,
                    uploader=requester.user_id,
                    content_type=upload.content_type,
                    upload_name=upload.filename,
                    size=received.size,
                    sha256=received.sha256,
                    created_ts=self._clock.time_ms(),
                    unused_expires_ts=None,
                    quarantined=False,
                    storage_key=key,
                )
            )
        return f"mxc://{server_name}/{media_id}"

    async def create(self, requester: Requester) -> tuple[str, int]:
        """POST /_matrix/media/v1/create: reserve a media ID for a later upload."""
        self._limiter.check(requester.user_id)
        await self._purge_expired()
        now = self._clock.time_ms()
        expires = now + self._settings.unused_expires_seconds * 1000
        server_name = requester.tenant.server_name
        media_id = _new_media_id()
        async with self._store.transaction() as tx:
            if await tx.media.pending_count(requester.user_id, now) >= MAX_PENDING_UPLOADS:
                raise LimitExceeded("Too many pending uploads", retry_after_ms=60_000)
            await tx.media.add(
                MediaRecord(
                    server_name=server_name,
                    media_id=media_id,
                    uploader=requester.user_id,
                    content_type=None,
                    upload_name=None,
                    size=None,
                    sha256=None,
                    created_ts=now,
                    unused_expires_ts=expires,
                    quarantined=False,
                    storage_key=_storage_key(server_name, media_id),
                )
            )
        return f"mxc://{server_name}/{media_id}", expires

    async def upload_to(
        self, requester: Requester, server_name: str, media_id: str, upload: Upload
    ) -> None:
        """PUT /_matrix/media/v3/upload/{serverName}/{mediaId}: fill a reserved ID."""
        self._limiter.check(requester.user_id)
        record = await self._reserved(requester, server_name, media_id)
        received = await self._receive(requester, upload)
        # A key of its own per attempt: of two racing PUTs, the loser's bytes
        # can never replace the winner's.
        key = f"{record.storage_key}-{secrets.token_hex(4)}"
        try:
            await self._files.put(key, received.path, base_type(upload.content_type))
        finally:
            await anyio.Path(received.path).unlink(missing_ok=True)
        async with self._store.transaction() as tx:
            done = await tx.media.complete(
                server_name,
                media_id,
                content_type=upload.content_type,
                upload_name=upload.filename,
                size=received.size,
                sha256=received.sha256,
                storage_key=key,
            )
        if not done:
            await self._files.delete(key)
            raise CannotOverwriteMedia("Media already uploaded")
        if event := self._arrived.pop((server_name, media_id), None):
            event.set()

    async def _reserved(self, requester: Requester, server_name: str, media_id: str) -> MediaRecord:
        if server_name != requester.tenant.server_name or not valid_media_id(media_id):
            raise NotFound("Unknown media ID")
        async with self._store.read() as tx:
            record = await tx.media.get(server_name, media_id)
        if record is None:
            raise NotFound("Unknown media ID")
        if record.uploader != requester.user_id:
            raise Forbidden("This media ID was created by another user")
        if record.uploaded:
            raise CannotOverwriteMedia("Media already uploaded")
        if (record.unused_expires_ts or 0) <= self._clock.time_ms():
            raise NotFound("The media ID has expired")
        return record

    async def _receive(self, requester: Requester, upload: Upload) -> Received:
        """Stream the body to a temporary file, hashing it and enforcing the limits."""
        policy = requester.tenant.policy
        limit = policy.max_upload_bytes
        if upload.declared_length is not None and upload.declared_length > limit:
            raise TooLarge(f"Uploads may be at most {limit} bytes")
        async with self._store.read() as tx:
            used = await tx.media.bytes_used(requester.user_id)
        room = policy.media_quota_bytes_per_user - used
        if room <= 0 or (upload.declared_length or 0) > room:
            raise Forbidden("The upload quota of this account is used up")
        path = self._files.temp_dir / f"{secrets.token_hex(16)}.part"
        digest = hashlib.sha256()
        size = 0
        try:
            async with await anyio.open_file(path, "wb") as out:
                buffer = bytearray()
                async for chunk in upload.chunks:
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge(f"Uploads may be at most {limit} bytes")
                    if size > room:
                        raise Forbidden("The upload quota of this account is used up")
                    digest.update(chunk)
                    buffer += chunk
                    if len(buffer) >= _WRITE_BUFFER:
                        await out.write(bytes(buffer))
                        buffer.clear()
                await out.write(bytes(buffer))
        except BaseException:
            await anyio.Path(path).unlink(missing_ok=True)
            raise
        return Received(path, size, digest.hexdigest())

    async def _purge_expired(self) -> None:
        async with self._store.transaction() as tx:
            for record in await tx.media.expired(self._clock.time_ms()):
                await tx.media.remove(record.server_name, record.media_id)

    # -- downloads -------------------------------------------------------

    async def download(
        self, requester: Requester, server_name: str, media_id: str, *, timeout_ms: int
    ) -> Served:
        record = await self._uploaded(requester, server_name, media_id, timeout_ms)
        return Served(
            record.storage_key,
            record.content_type or "application/octet-stream",
            record.size or 0,
            record.upload_name,
        )

    def open(self, served: Served, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        return self._files.open(served.storage_key, start, end)

    async def _uploaded(
        self, requester: Requester, server_name: str, media_id: str, timeout_ms: int
    ) -> MediaRecord:
        # Media of other servers (no federation) and forged IDs simply don't exist.
        if server_name != requester.tenant.server_name or not valid_media_id(media_id):
            raise NotFound("Media not found")
        record = await self._get(server_name, media_id)
        if record is not None and not record.uploaded and not record.quarantined:
            key = (server_name, media_id)
            event = self._arrived.setdefault(key, anyio.Event())
            self._waiting[key] += 1
            try:
                with anyio.move_on_after(min(timeout_ms, MAX_WAIT_MS) / 1000):
                    await event.wait()
            finally:
                self._waiting[key] -= 1
                if not self._waiting[key]:
                    # The last waiter gone: an upload that never comes leaves nothing.
                    del self._waiting[key]
                    if self._arrived.get(key) is event:
                        del self._arrived[key]
            record = await self._get(server_name, media_id)
            if record is not None and not record.uploaded:
                raise NotYetUploaded("The content has not been uploaded yet")
        if record is None or record.quarantined:
            raise NotFound("Media not found")
        return record

    async def _get(self, server_name: str, media_id: str) -> MediaRecord | None:
        async with self._store.read() as tx:
            return await tx.media.get(server_name, media_id)

    # -- thumbnails ------------------------------------------------------

    async def thumbnail(
        self,
        requester: Requester,
        server_name: str,
        media_id: str,
        *,
        width: int,
        height: int,
        method: str,
        timeout_ms: int,
    ) -> Served:
        record = await self._uploaded(requester, server_name, media_id, timeout_ms)
        # Encrypted attachments are application/octet-stream: nothing to look at.
        if base_type(record.content_type) not in THUMBNAIL_TYPES:
            raise Unknown("Cannot generate thumbnails for the requested content")
        if (record.size or 0) > MAX_THUMBNAIL_SOURCE_BYTES:
            raise TooLarge("Content is too large to thumbnail")
        size = pick_thumbnail_size(width, height, method)
        thumb = await self._cached_thumbnail(record, size.width, size.height, size.method)
        if thumb is None:
            # One generation per item at a time; the others then find it cached.
            key = (server_name, media_id)
            lock = self._thumb_locks.setdefault(key, anyio.Lock())
            try:
                async with lock:
                    thumb = await self._cached_thumbnail(
                        record, size.width, size.height, size.method
                    )
                    if thumb is None:
                        thumb = await self._generate(record, size.width, size.height, size.method)
            finally:
                if lock.statistics().tasks_waiting == 0 and self._thumb_locks.get(key) is lock:
                    del self._thumb_locks[key]  # kept only while someone generates
        return Served(thumb.storage_key, thumb.content_type, thumb.size, None)

    async def _cached_thumbnail(
        self, record: MediaRecord, width: int, height: int, method: str
    ) -> ThumbnailRecord | None:
        async with self._store.read() as tx:
            thumbs = await tx.media.thumbnails(record.server_name, record.media_id)
        for t in thumbs:
            if (t.width, t.height, t.method) == (width, height, method):
                return t
        return None

    async def _generate(
        self, record: MediaRecord, width: int, height: int, method: str
    ) -> ThumbnailRecord:
        source = self._files.temp_dir / f"{secrets.token_hex(16)}.src"
        target = self._files.temp_dir / f"{secrets.token_hex(16)}.thumb"
        try:
            async with await anyio.open_file(source, "wb") as out:
                async for chunk in self._files.open(record.storage_key):
                    await out.write(chunk)
            data, content_type = await anyio.to_thread.run_sync(
                lambda: make_thumbnail(
                    source, width, height, method, max_pixels=self._settings.max_thumbnail_pixels
                )
            )
            await anyio.Path(target).write_bytes(data)
            thumb = ThumbnailRecord(
                width,
                height,
                method,
                content_type,
                len(data),
                f"{record.storage_key}.thumb-{width}x{height}-{method}",
            )
            await self._files.put(thumb.storage_key, target, content_type)
            try:
                async with self._store.transaction() as tx:
                    await tx.media.add_thumbnail(record.server_name, record.media_id, thumb)
            except Conflict:
                pass  # another worker made the same one; the content is equivalent
            return thumb
        finally:
            await anyio.Path(source).unlink(missing_ok=True)
            await anyio.Path(target).unlink(missing_ok=True)

    # -- configuration and administration --------------------------------

    def config(self, requester: Requester) -> dict[str, int]:
        return {"m.upload.size": requester.tenant.policy.max_upload_bytes}

    async def set_quarantined(
        self, tenant: Tenant, actor: Actor, server_name: str, media_id: str, quarantined: bool
    ) -> None:
        """Quarantine (or release) one upload of this tenant: it stays stored but is
        served to nobody."""
        missing = NotFound(f"No media mxc://{server_name}/{media_id} in this organisation")
        if server_name != tenant.server_name or not valid_media_id(media_id):
            raise missing
        async with self._store.transaction() as tx:
            if not await tx.media.set_quarantined(server_name, media_id, quarantined):
                raise missing
            await self._audit.record_as(
                tx,
                tenant,
                actor,
                "media.quarantined" if quarantined else "media.released",
                target=f"mxc://{server_name}/{media_id}",
            )

    async def list_user_media(
        self, tenant: Tenant, user_id: str, *, offset: int = 0, limit: int | None = None
    ) -> tuple[list[MediaRecord], int]:
        """The uploads of a user of this tenant, oldest first, and their total bytes."""
        async with self._store.read() as tx:
            await local_user(tx, tenant, user_id, deactivated_ok=True)
            records = await tx.media.for_uploader(user_id, offset=offset, limit=limit)
            return records, await tx.media.bytes_used(user_id)

    async def delete_user_media(self, tenant: Tenant, actor: Actor, user_id: str) -> int:
        """Delete every upload of ``user_id`` (bytes and thumbnails); returns how many."""
        async with self._store.transaction() as tx:
            await local_user(tx, tenant, user_id, deactivated_ok=True)
            records = await tx.media.for_uploader(user_id)
            keys: list[str] = []
            for record in records:
                thumbs = await tx.media.thumbnails(record.server_name, record.media_id)
                keys += [record.storage_key, *(t.storage_key for t in thumbs)]
                await tx.media.remove(record.server_name, record.media_id)
            await self._audit.record_as(
                tx,
                tenant,
                actor,
                "media.deleted",
                target=user_id,
                details={"count": len(records), "bytes": sum(r.size or 0 for r in records)},
            )
        # Rows first: a crash in between leaves unreachable bytes, never a row
        # pointing at nothing.
        for key in keys:
            await self._files.delete(key)
        return len(records)


def _new_media_id() -> str:
    # 24 random bytes: unguessable, so knowing one mxc URI reveals no other.
    return secrets.token_urlsafe(24)


def _storage_key(server_name: str, media_id: str) -> str:
    # Two levels of fan-out keep directories small on the file engine.
    return f"{server_name}/{media_id[:2]}/{media_id[2:4]}/{media_id}"
