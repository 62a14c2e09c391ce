"""The content repository: uploads and downloads (thumbnails: ``thumbnails.py``; the
organisation's actions on media: ``media_admin.py``).

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
from revier.services.core import Clock, RateLimiter, Requester
from revier.services.media.thumbnails import Thumbnailer
from revier.storage import Store
from revier.storage.media import MediaRepos
from revier.storage.media.media import MediaRecord
from revier.storage.media.media_store import MediaStore

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
    ) -> None:
        self._store = store
        self._files = media_store
        self._clock = clock
        self._settings = settings
        self._limiter = upload_limiter
        # In-process wake-ups for downloads waiting on an asynchronous upload.
        self._arrived: dict[tuple[str, str], anyio.Event] = {}
        self._waiting: Counter[tuple[str, str]] = Counter()
        self._thumbnails = Thumbnailer(store, media_store, settings)

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
            await MediaRepos.of(tx).media.add(
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
            db = MediaRepos.of(tx)
            if await db.media.pending_count(requester.user_id, now) >= MAX_PENDING_UPLOADS:
                raise LimitExceeded("Too many pending uploads", retry_after_ms=60_000)
            await db.media.add(
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
            done = await MediaRepos.of(tx).media.complete(
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
            record = await MediaRepos.of(tx).media.get(server_name, media_id)
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
            used = await MediaRepos.of(tx).media.bytes_used(requester.user_id)
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
            db = MediaRepos.of(tx)
            for record in await db.media.expired(self._clock.time_ms()):
                await db.media.remove(record.server_name, record.media_id)

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
            return await MediaRepos.of(tx).media.get(server_name, media_id)

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
        thumb = await self._thumbnails.get(record, size.width, size.height, size.method)
        return Served(thumb.storage_key, thumb.content_type, thumb.size, None)

    # -- configuration ---------------------------------------------------

    def config(self, requester: Requester) -> dict[str, int]:
        return {"m.upload.size": requester.tenant.policy.max_upload_bytes}


def _new_media_id() -> str:
    # 24 random bytes: unguessable, so knowing one mxc URI reveals no other.
    return secrets.token_urlsafe(24)


def _storage_key(server_name: str, media_id: str) -> str:
    # Two levels of fan-out keep directories small on the file engine.
    return f"{server_name}/{media_id[:2]}/{media_id[2:4]}/{media_id}"
