"""Thumbnail images with Pillow: run in a worker thread, never on the event loop."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from revier.errors import TooLarge, Unknown


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
