"""The media wing's storage. Media metadata and thumbnails (the bytes live in a ``MediaStore``).

Only ``revier.services.media`` imports this package (an import contract checks it).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from revier.config import MediaSettings
from revier.storage.media.media import MediaRepository
from revier.storage.media.media_store import FileMediaStore, MediaStore
from revier.storage.store import Repositories


class MediaRepos(Repositories):
    @cached_property
    def media(self) -> MediaRepository:
        return MediaRepository(self.conn)


def create_media_store(settings: MediaSettings, data_dir: Path) -> MediaStore:
    """Where the bytes go: files under the data directory, or an S3 bucket."""
    if settings.backend == "s3":
        # Imported only when used: boto3 takes a while to load.
        from revier.storage.media.media_s3 import S3MediaStore

        return S3MediaStore(settings, data_dir / "media-uploads")
    return FileMediaStore(settings.path or data_dir / "media")
