"""Matrix identifier grammar (spec appendix "Identifier Grammar").

Two grammars for user ids coexist: new accounts must use the strict
``a-z0-9._=-/+`` localpart, but events from existing rooms may carry
*historical* user ids (any non-surrogate code point but ``:`` and NUL, even
empty), which servers MUST accept. Callers pick with ``historical=``.
"""

from __future__ import annotations

import re

from revier.errors import InvalidParam

# Identifiers including sigil and domain "MUST NOT exceed 255 bytes".
MAX_IDENTIFIER_BYTES = 255

_STRICT_LOCALPART = re.compile(r"[a-z0-9._=\-/+]+")
_PORT = r"(?::[0-9]{1,5})?"
_IPV4 = re.compile(r"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})" + _PORT)
_IPV6 = re.compile(r"\[[0-9A-Fa-f:.]{2,45}\]" + _PORT)
_DNS = re.compile(r"[0-9A-Za-z\-.]{1,255}" + _PORT)
# Event ids since room version 4 are the URL-safe unpadded base64 of a sha256
# (43 characters); v3 used standard base64. Room ids in v12 reuse the first.
_URLSAFE_HASH = re.compile(r"[A-Za-z0-9\-_]{43}")
_STD_HASH = re.compile(r"[A-Za-z0-9+/]{43}")


def _byte_length(value: str) -> int:
    return len(value.encode("utf-8", "surrogatepass"))


def _is_historical_opaque(value: str) -> bool:
    """Any non-surrogate code point except ``:`` and NUL (historical localparts)."""
    return (
        ":" not in value
        and "\x00" not in value
        and not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    )


def is_valid_server_name(s: str) -> bool:
    """``server_name = hostname [ ":" port ]`` with IPv4, ``[IPv6]`` or DNS hostnames."""
    if not isinstance(s, str) or not s.isascii():
        return False
    if (m := _IPV4.fullmatch(s)) is not None:
        # Prose: "IPv4 literals must be ... decimal numbers in the range 0 to 255".
        return all(int(part) <= 255 for part in m.groups())
    if _IPV6.fullmatch(s) is not None:
        return True
    # A DNS name made only of digits and dots is a malformed IPv4 literal.
    host = s.rsplit(":", 1)[0] if ":" in s else s
    if re.fullmatch(r"[0-9.]+", host):
        return False
    return _DNS.fullmatch(s) is not None


def _split(s: str, sigil: str) -> tuple[str, str] | None:
    if not isinstance(s, str) or not s.startswith(sigil) or ":" not in s:
        return None
    localpart, _, server_name = s[1:].partition(":")
    return localpart, server_name


def is_valid_localpart(localpart: str, server_name: str | None = None) -> bool:
    """The strict user id localpart for *new* users (spec v1.8+).

    With ``server_name`` the 255-byte limit is checked on the full user id;
    without it, on the shortest user id the localpart could be part of.
    """
    if not isinstance(localpart, str) or _STRICT_LOCALPART.fullmatch(localpart) is None:
        return False
    domain_length = len(server_name) if server_name is not None else 1
    return len(localpart) + domain_length + 2 <= MAX_IDENTIFIER_BYTES


def is_valid_user_id(s: str, *, historical: bool = True) -> bool:
    """``@localpart:server_name``; ``historical`` allows the old, wider localparts."""
    parts = _split(s, "@")
    if parts is None or _byte_length(s) > MAX_IDENTIFIER_BYTES:
        return False
    localpart, server_name = parts
    if not is_valid_server_name(server_name):
        return False
    if historical:
        return _is_historical_opaque(localpart)
    return is_valid_localpart(localpart, server_name)


def parse_user_id(s: str, *, historical: bool = True) -> tuple[str, str]:
    """Split a user id into ``(localpart, server_name)``; InvalidParam if malformed."""
    if not is_valid_user_id(s, historical=historical):
        raise InvalidParam(f"Invalid user id: {s!r}")
    localpart, _, server_name = s[1:].partition(":")
    return localpart, server_name


def is_valid_room_id(s: str) -> bool:
    """``!opaque:server_name`` (v1-v11) or ``!<reference hash>`` (v12)."""
    if not isinstance(s, str) or not s.startswith("!"):
        return False
    if _URLSAFE_HASH.fullmatch(s[1:]) is not None:
        return True
    parts = _split(s, "!")
    if parts is None or _byte_length(s) > MAX_IDENTIFIER_BYTES:
        return False
    opaque, server_name = parts
    return opaque != "" and _is_historical_opaque(opaque) and is_valid_server_name(server_name)


def is_valid_event_id(s: str) -> bool:
    """``$<hash>`` (v3+) or the legacy ``$opaque:server_name`` (v1, v2)."""
    if not isinstance(s, str) or not s.startswith("$"):
        return False
    body = s[1:]
    if _URLSAFE_HASH.fullmatch(body) is not None or _STD_HASH.fullmatch(body) is not None:
        return True
    parts = _split(s, "$")
    if parts is None or _byte_length(s) > MAX_IDENTIFIER_BYTES:
        return False
    opaque, server_name = parts
    return opaque != "" and _is_historical_opaque(opaque) and is_valid_server_name(server_name)


def is_valid_room_alias(s: str) -> bool:
    """``#alias:server_name``; the alias is any code point but ``:`` and NUL."""
    parts = _split(s, "#")
    if parts is None or _byte_length(s) > MAX_IDENTIFIER_BYTES:
        return False
    alias, server_name = parts
    return alias != "" and _is_historical_opaque(alias) and is_valid_server_name(server_name)


def server_name_of(identifier: str) -> str | None:
    """The domain of a sigilled identifier, or None when it has none.

    v12 room ids and hash-based event ids carry no domain: the spec tells
    applications to look at the create event's ``sender`` instead.
    """
    if not isinstance(identifier, str) or identifier[:1] not in ("@", "!", "$", "#"):
        raise InvalidParam(f"Not a Matrix identifier: {identifier!r}")
    _, sep, server_name = identifier[1:].partition(":")
    return server_name if sep else None
