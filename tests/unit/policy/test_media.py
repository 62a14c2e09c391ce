"""Media naming and serving rules: IDs, inline list, file names, thumbnail sizes."""

from __future__ import annotations

import pytest

from revier.policy.media import (
    clean_content_type,
    content_disposition,
    is_inline,
    pick_thumbnail_size,
    sanitise_filename,
    valid_media_id,
)


@pytest.mark.parametrize(
    ("media_id", "ok"),
    [
        ("AQwafuaFswefuhsfAFAgsw", True),
        ("a-b_c", True),
        ("../x", False),
        ("a/b", False),
        ("%2e%2e", False),
        ("", False),
        ("a" * 256, False),
    ],
)
def test_media_ids(media_id: str, ok: bool) -> None:
    assert valid_media_id(media_id) is ok


@pytest.mark.parametrize(
    ("content_type", "inline"),
    [
        ("image/png", True),
        ("IMAGE/JPEG; charset=x", True),
        ("video/mp4", True),
        ("audio/ogg", True),
        ("text/plain", True),
        ("image/svg+xml", False),
        ("text/html", False),
        ("application/xhtml+xml", False),
        ("application/octet-stream", False),
        (None, False),
    ],
)
def test_inline_allow_list(content_type: str | None, inline: bool) -> None:
    assert is_inline(content_type) is inline


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Windows\\evil.exe", "evil.exe"),
        ("/abs/path.txt", "path.txt"),
        ("a\r\nX-Injected: 1", "aX-Injected: 1"),
        ("..", None),
        (".hidden", "hidden"),
        ("", None),
        ("Lagebild 🚒.png", "Lagebild 🚒.png"),
    ],
)
def test_file_names_are_sanitised(name: str, safe: str | None) -> None:
    assert sanitise_filename(name) == safe


def test_content_disposition_is_rfc_6266() -> None:
    assert content_disposition("text/html", None) == "attachment"
    header = content_disposition("image/png", 'Bild "1" ü.png')
    assert header.startswith("inline; filename=")
    assert "filename*=utf-8''Bild%20%221%22%20%C3%BC.png" in header
    assert "\r" not in content_disposition("text/html", "x\r\ny")


def test_content_types_are_checked() -> None:
    assert clean_content_type("image/png") == "image/png"
    assert clean_content_type("text/plain; charset=utf-8") == "text/plain; charset=utf-8"
    assert clean_content_type("text/html\r\nX: y") is None
    assert clean_content_type("nonsense") is None


def test_thumbnail_sizes_are_the_spec_suggestions() -> None:
    assert pick_thumbnail_size(30, 30, "crop") == pick_thumbnail_size(32, 32, "crop")
    assert (
        pick_thumbnail_size(64, 64, "crop").width,
        pick_thumbnail_size(64, 64, "crop").height,
    ) == (96, 96)
    size = pick_thumbnail_size(500, 400, "scale")
    assert (size.width, size.height, size.method) == (640, 480, "scale")
    size = pick_thumbnail_size(5000, 5000, "scale")
    assert (size.width, size.height) == (800, 600)
