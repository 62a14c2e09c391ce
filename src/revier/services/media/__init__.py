"""media: uploads and downloads, thumbnails, URL previews.

Owns the media metadata and the media store (local files or S3) holding the
bytes. Needs nothing from other wings but ``core`` (accounts, audit).

Other wings import from this package only, never from its modules.
"""

from revier.services.media.media import MediaService, Received, Served, Upload
from revier.services.media.media_admin import MediaAdminService
from revier.services.media.url_preview import UrlPreviewService
from revier.storage.media import create_media_store
from revier.storage.media.media import MediaRecord
from revier.storage.media.media_store import MediaStore

__all__ = [
    "MediaAdminService",
    "MediaRecord",
    "MediaService",
    "MediaStore",
    "Received",
    "Served",
    "Upload",
    "UrlPreviewService",
    "create_media_store",
]
