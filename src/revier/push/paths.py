"""Dot-separated property paths (spec appendix: Dot-separated property paths).

``content.m\\.relates_to.rel_type`` names ``event["content"]["m.relates_to"]["rel_type"]``:
``\\.`` is a literal dot, ``\\\\`` a literal backslash, and any other escape is
kept as written (``\\x`` is a backslash followed by ``x``), as the spec asks.
Instead of flattening each event into every possible key, the path is split
once (memoised) and walked, so only the properties a rule asks for are read.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Final


class _Missing(enum.Enum):
    MISSING = enum.auto()


MISSING: Final = _Missing.MISSING
"""Returned for an absent property, which the spec distinguishes from ``null``."""


@lru_cache(maxsize=1024)
def split_path(key: str) -> tuple[str, ...]:
    """Property names along ``key``, escapes resolved."""
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(key):
        ch = key[i]
        if ch == "\\" and i + 1 < len(key) and key[i + 1] in ".\\":
            current.append(key[i + 1])
            i += 2
            continue
        if ch == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return tuple(parts)


def lookup(event: Mapping[str, Any], key: str) -> Any:
    """The value at ``key`` in ``event``, or ``MISSING``.

    Only objects are descended into: the spec defines no syntax for array
    indices, so a path through an array (or any non-object) is absent.
    """
    node: Any = event
    for name in split_path(key):
        if not isinstance(node, Mapping) or name not in node:
            return MISSING
        node = node[name]
    return node
