"""Canonical JSON (spec appendix "Canonical JSON").

The encoding is the shortest UTF-8 JSON with keys sorted by code point and
integers only. The appendix's own example turns ``{"a": -0, "b": 1e10}`` into
``{"a":0,"b":10000000000}``, so integral floats (what a JSON parser makes of
``1e10``) are written as integers here; any other float cannot be encoded.

Room versions 6+ additionally require events to *be* canonical JSON (the
``v6-canonical-json`` fragment): ``check_canonical_json_values`` is the strict
check callers run on event content before accepting it, answering M_BAD_JSON.
"""

from __future__ import annotations

import json
import math
from typing import Any

from revier.errors import BadJson

# The integer range a JSON number may take: [-(2**53)+1, (2**53)-1].
CANONICAL_INT_MIN = -(2**53) + 1
CANONICAL_INT_MAX = 2**53 - 1


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {_key(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise BadJson(f"Canonical JSON cannot encode the number {value!r}")
        return int(value)
    return value


def _key(key: Any) -> str:
    if not isinstance(key, str):
        raise BadJson(f"Object keys must be strings, not {type(key).__name__}")
    return key


def encode_canonical_json(value: Any) -> bytes:
    """Encode ``value`` as canonical JSON bytes; BadJson if it cannot be."""
    try:
        text = json.dumps(
            _normalise(value),
            ensure_ascii=False,
            separators=(",", ":"),
            sort_keys=True,
            allow_nan=False,
        )
        return text.encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        # Lone surrogates and non-JSON types would otherwise surface as a 500.
        raise BadJson(f"Value is not encodable as canonical JSON: {exc}") from exc


def check_canonical_json_values(value: Any) -> None:
    """Reject floats and out-of-range integers anywhere in ``value``.

    Room versions 6 and later make this a hard requirement for events, so a
    client gets M_BAD_JSON and a federated event is dropped.
    """
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, bool) or item is None or isinstance(item, str):
            continue
        if isinstance(item, int):
            if not CANONICAL_INT_MIN <= item <= CANONICAL_INT_MAX:
                raise BadJson(f"Integer {item} is outside the canonical JSON range")
        elif isinstance(item, float):
            raise BadJson(f"Float values are not allowed in events: {item!r}")
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        else:
            raise BadJson(f"Not a JSON value: {type(item).__name__}")
