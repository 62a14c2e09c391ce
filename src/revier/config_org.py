"""Checks of the tenant policy's retention and client-version keys (``TenantPolicy``)."""

from __future__ import annotations

import re

# A version as clients write it: numbers separated by dots ("25.03.3", "1.11.50"),
# maybe followed by a suffix ("-rc1", " (build 7)") that comparisons ignore.
VERSION = re.compile(r"^(\d{1,9}(?:\.\d{1,9}){0,5})")
MAX_CLIENT_NAME = 64


def check_retention_days(low: int | None, high: int | None, default: int | None) -> None:
    """min <= default <= max, where set: a default outside the bounds would be clamped
    the moment it applies, which no operator means."""
    if low is not None and high is not None and low > high:
        raise ValueError(f"retention_min_days ({low}) is above retention_max_days ({high})")
    if default is not None and low is not None and default < low:
        raise ValueError(f"retention_default_days ({default}) is below retention_min_days ({low})")
    if default is not None and high is not None and default > high:
        raise ValueError(f"retention_default_days ({default}) is above retention_max_days ({high})")


def parse_version(text: str) -> tuple[int, ...] | None:
    """``"25.03.3-rc1"`` -> ``(25, 3, 3)``; None when it doesn't start with a number."""
    match = VERSION.match(text.strip())
    if match is None:
        return None
    return tuple(int(part) for part in match.group(1).split("."))


def check_min_versions(versions: dict[str, str]) -> dict[str, str]:
    for name, version in versions.items():
        if not name.strip() or len(name) > MAX_CLIENT_NAME:
            raise ValueError(f"min_client_versions: {name!r} is not a client name")
        if parse_version(version) is None:
            raise ValueError(f"min_client_versions: {version!r} ({name}) is not a version")
    return versions
