"""What a link preview may fetch, and what it takes from the page."""

from __future__ import annotations

import html
import ipaddress
import re
from typing import Any

MAX_PARSED_CHARS = 1024 * 1024
_META = re.compile(r"<meta\s[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r'([a-zA-Z:_-]+)\s*=\s*("[^"]*"|\'[^\']*\'|[^\s>]+)')
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_OG_KEYS = ("og:title", "og:description", "og:image", "og:site_name", "og:type")


def is_public_address(address: str) -> bool:
    """Only globally routable unicast addresses: no loopback, private, link-local,
    multicast, reserved or IPv4-mapped tricks (the server would be a proxy into them)."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def parse_open_graph(text: str) -> dict[str, Any]:
    og: dict[str, Any] = {}
    for tag in _META.findall(text[:MAX_PARSED_CHARS]):
        attrs = {k.lower(): v.strip("'\"") for k, v in _ATTR.findall(tag)}
        key = attrs.get("property") or attrs.get("name") or ""
        if key in _OG_KEYS:
            og.setdefault(key, html.unescape(attrs.get("content", ""))[:1000])
    if "og:title" not in og and (m := _TITLE.search(text)):
        og["og:title"] = html.unescape(m.group(1).strip())[:1000]
    return og
