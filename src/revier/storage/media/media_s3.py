"""Media in an S3-compatible bucket (AWS, MinIO, SeaweedFS, Ceph RGW, …).

boto3 is synchronous; every call runs in a worker thread so the event loop
never waits on the object store. ``upload_file`` streams from the temporary
file (multipart above a few MiB); downloads read the body in chunks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import boto3
import botocore.config
import botocore.exceptions

from revier.config import MediaSettings
from revier.storage.media.media_store import CHUNK


class S3MediaStore:
    def __init__(self, settings: MediaSettings, temp_dir: Path) -> None:
        secret = settings.s3_secret_key.get_secret_value() if settings.s3_secret_key else None
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key,
            aws_secret_access_key=secret,
            config=botocore.config.Config(
                s3={"addressing_style": "path" if settings.s3_path_style else "auto"},
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        )
        self._bucket = settings.s3_bucket
        self._temp = temp_dir
        self._temp.mkdir(parents=True, exist_ok=True)
        self._bucket_checked = False
        self._lock = anyio.Lock()

    @property
    def temp_dir(self) -> Path:
        return self._temp

    async def _ensure_bucket(self) -> None:
        async with self._lock:
            if self._bucket_checked:
                return

            def check() -> None:
                try:
                    self._client.head_bucket(Bucket=self._bucket)
                except botocore.exceptions.ClientError:
                    self._client.create_bucket(Bucket=self._bucket)

            await anyio.to_thread.run_sync(check)
            self._bucket_checked = True

    async def put(self, key: str, source: Path, content_type: str) -> None:
        await self._ensure_bucket()
        try:
            await anyio.to_thread.run_sync(
                lambda: self._client.upload_file(
                    str(source), self._bucket, key, ExtraArgs={"ContentType": content_type}
                )
            )
        finally:
            await anyio.to_thread.run_sync(lambda: source.unlink(missing_ok=True))

    async def open(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        extra: dict[str, str] = {}
        if start or end is not None:
            # Not for the whole object: S3 answers 416 to "bytes=0-" on an empty one.
            extra["Range"] = f"bytes={start}-" + ("" if end is None else str(end))
        response = await anyio.to_thread.run_sync(
            lambda: self._client.get_object(Bucket=self._bucket, Key=key, **extra)
        )
        body = response["Body"]
        try:
            while True:
                chunk: bytes = await anyio.to_thread.run_sync(body.read, CHUNK)
                if not chunk:
                    return
                yield chunk
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(
            lambda: self._client.delete_object(Bucket=self._bucket, Key=key)
        )
