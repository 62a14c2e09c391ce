"""How media is named and served: ID rules, inline allow-list, file names.

Everything a browser might execute (HTML, SVG, XML, JavaScript, PDF with
scripts) is served as a download, never shown inline: media shares the
origin of the client API, so inline active content would be stored XSS.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

MEDIA_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")

# Shown inline by browsers without running anything.
INLINE_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/apng",
        "image/avif",
        "text/plain",
        "text/csv",
    }
)
INLINE_PREFIXES = ("audio/", "video/")

# The sizes the spec suggests servers pre-compute (client-server API, "Thumbnails").
THUMBNAIL_SIZES: tuple[tuple[int, int, str], ...] = (
    (32, 32, "crop"),
    (96, 96, "crop"),
    (320, 240, "scale"),
    (640, 480, "scale"),
    (800, 600, "scale"),
)
THUMBNAIL_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def valid_media_id(media_id: str) -> bool:
    return MEDIA_ID.fullmatch(media_id) is not None


def base_type(content_type: str | None) -> str:
    return (content_type or "application/octet-stream").split(";")[0].strip().lower()


def is_inline(content_type: str | None) -> bool:
    kind = base_type(content_type)
    return kind in INLINE_TYPES or kind.startswith(INLINE_PREFIXES)


def sanitise_filename(name: str | None) -> str | None:
    """A file name safe for a header and a disk: no path, no control characters."""
    if not name:
        return None
    name = unicodedata.normalize("NFC", name)
    # Only the last path component: "../../etc/passwd" becomes "passwd".
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = name.strip().lstrip(".")
    return name[:255] or None


def content_disposition(content_type: str | None, filename: str | None) -> str:
    """RFC 6266: ``inline`` only for the allow-list; names as RFC 8187 UTF-8."""
    kind = "inline" if is_inline(content_type) else "attachment"
    safe = sanitise_filename(filename)
    if not safe:
        return kind
    ascii_name = safe.encode("ascii", "replace").decode("ascii").replace('"', "'").replace("?", "_")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=utf-8''{quote(safe, safe='')}"


@dataclass(frozen=True)
class ThumbnailSize:
    width: int
    height: int
    method: str


def pick_thumbnail_size(width: int, height: int, method: str) -> ThumbnailSize:
    """The smallest pre-set size at least as big as asked (the spec lets us return larger)."""
    same = [s for s in THUMBNAIL_SIZES if s[2] == method] or list(THUMBNAIL_SIZES)
    for w, h, m in same:
        if w >= width and h >= height:
            return ThumbnailSize(w, h, m)
    w, h, m = same[-1]
    return ThumbnailSize(w, h, m)


_CONTENT_TYPE = re.compile(r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+( *;[ -~]*)?$")


def clean_content_type(content_type: str | None) -> str | None:
    """The uploader's Content-Type if it is a plain MIME type, else None (octet-stream)."""
    if not content_type or len(content_type) > 255:
        return None
    content_type = content_type.strip()
    return content_type if _CONTENT_TYPE.fullmatch(content_type) else None
