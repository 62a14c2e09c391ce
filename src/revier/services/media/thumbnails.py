"""Thumbnails: made once per size and method, kept like media.

Pillow runs in a worker thread, never on the event loop; one generation per
item at a time, the others then find it stored.
"""

from __future__ import annotations

import io
import secrets
import warnings
from pathlib import Path

import anyio
import anyio.to_thread
from PIL import Image, ImageOps, UnidentifiedImageError

from revier.config import MediaSettings
from revier.errors import TooLarge, Unknown
from revier.storage import Conflict, Store
from revier.storage.media import MediaRepos
from revier.storage.media.media import MediaRecord, ThumbnailRecord
from revier.storage.media.media_store import MediaStore


class Thumbnailer:
    def __init__(self, store: Store, media_store: MediaStore, settings: MediaSettings) -> None:
        self._store = store
        self._files = media_store
        self._settings = settings
        # Held while a thumbnail of the item is generated (so it is made once).
        self._locks: dict[tuple[str, str], anyio.Lock] = {}

    async def get(
        self, record: MediaRecord, width: int, height: int, method: str
    ) -> ThumbnailRecord:
        """The stored thumbnail of this size and method, made now if there is none."""
        thumb = await self._cached_thumbnail(record, width, height, method)
        if thumb is not None:
            return thumb
        # One generation per item at a time; the others then find it cached.
        key = (record.server_name, record.media_id)
        lock = self._locks.setdefault(key, anyio.Lock())
        try:
            async with lock:
                thumb = await self._cached_thumbnail(record, width, height, method)
                if thumb is None:
                    thumb = await self._generate(record, width, height, method)
        finally:
            if lock.statistics().tasks_waiting == 0 and self._locks.get(key) is lock:
                del self._locks[key]  # kept only while someone generates
        return thumb

    async def _cached_thumbnail(
        self, record: MediaRecord, width: int, height: int, method: str
    ) -> ThumbnailRecord | None:
        async with self._store.read() as tx:
            thumbs = await MediaRepos.of(tx).media.thumbnails(record.server_name, record.media_id)
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
                    await MediaRepos.of(tx).media.add_thumbnail(
                        record.server_name, record.media_id, thumb
                    )
            except Conflict:
                pass  # another worker made the same one; the content is equivalent
            return thumb
        finally:
            await anyio.Path(source).unlink(missing_ok=True)
            await anyio.Path(target).unlink(missing_ok=True)


def make_thumbnail(
    source: Path, width: int, height: int, method: str, *, max_pixels: int
) -> tuple[bytes, str]:
    """``source`` scaled to fit (``scale``) or filled and cut (``crop``) to width x height.

    Raises M_TOO_LARGE for images whose pixel count exceeds ``max_pixels``:
    a small, highly compressed file can decode to gigabytes (a decompression
    bomb), so the header is checked before any pixel is decoded.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as opened:
                if opened.width * opened.height > max_pixels:
                    raise TooLarge("The image is too large to thumbnail")
                opened.seek(0)  # animated images: the first frame
                img: Image.Image = ImageOps.exif_transpose(opened) or opened
                return _render(img, width, height, method)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise TooLarge("The image is too large to thumbnail") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise Unknown("Cannot generate thumbnails for the requested content") from None


def _render(img: Image.Image, width: int, height: int, method: str) -> tuple[bytes, str]:
    has_alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
    img = img.convert("RGBA" if has_alpha else "RGB")
    if method == "crop":
        img = ImageOps.fit(img, (width, height), Image.Resampling.LANCZOS)
    else:
        # Never enlarged: the spec allows a thumbnail bigger than asked, not a blurrier one.
        img.thumbnail((width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if has_alpha:
        img.save(out, "PNG", optimize=True)
        return out.getvalue(), "image/png"
    img.save(out, "JPEG", quality=85)
    return out.getvalue(), "image/jpeg"
