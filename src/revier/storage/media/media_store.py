"""Where media bytes are kept: one small seam, two engines (local files, S3).

An upload is first streamed to a temporary file in ``temp_dir`` (hashed and
size-checked on the way), then handed over whole with ``put``: a failed or
refused upload therefore never leaves a half-written object behind, and
neither engine needs the content in memory. Keys are made by the media
service from validated IDs only; the file engine checks them once more.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

import anyio
import anyio.to_thread

CHUNK = 256 * 1024


class MediaStore(Protocol):
    @property
    def temp_dir(self) -> Path:
        """A directory for uploads in progress (on the same disk as ``put``'s target)."""
        ...

    async def put(self, key: str, source: Path, content_type: str) -> None:
        """Store the finished file ``source`` under ``key``; ``source`` is consumed."""
        ...

    def open(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes ``start``..``end`` (inclusive; None: to the end) of ``key``."""
        ...

    async def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error."""
        ...


class FileMediaStore:
    """Media as plain files under one directory (default ``<data_dir>/media``)."""

    def __init__(self, root: Path) -> None:
        self._root = root.resolve()
        self._temp = self._root / ".uploads"
        self._temp.mkdir(parents=True, exist_ok=True)

    @property
    def temp_dir(self) -> Path:
        return self._temp

    def _path(self, key: str) -> Path:
        path = (self._root / key).resolve()
        # Keys come from validated IDs, but a path outside the root must be
        # impossible whatever a future caller passes.
        if self._root not in path.parents or key.startswith(".uploads"):
            raise ValueError(f"media key outside the media directory: {key!r}")
        return path

    async def put(self, key: str, source: Path, content_type: str) -> None:
        target = self._path(key)

        def move() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)  # atomic: readers see all of it or nothing

        await anyio.to_thread.run_sync(move)

    async def open(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        path = self._path(key)
        async with await anyio.open_file(path, "rb") as f:
            await f.seek(start)
            remaining = None if end is None else end - start + 1
            while remaining is None or remaining > 0:
                chunk = await f.read(CHUNK if remaining is None else min(CHUNK, remaining))
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await anyio.to_thread.run_sync(lambda: path.unlink(missing_ok=True))
