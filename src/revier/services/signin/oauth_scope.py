"""Scopes of the OAuth 2.0 API (spec "Scope"): full client-server access and the
device the client allocates. matrix-rust-sdk (Element X) and older
matrix-js-sdk send the unstable MSC2967 names; both are understood, and the
scope granted is given back in the names the client asked with."""

from __future__ import annotations

import re
from dataclasses import dataclass

from authlib.oauth2.rfc6749.errors import InvalidScopeError

API_SCOPES = frozenset({"urn:matrix:client:api:*", "urn:matrix:org.matrix.msc2967.client:api:*"})
DEVICE_PREFIXES = ("urn:matrix:client:device:", "urn:matrix:org.matrix.msc2967.client:device:")
# The spec lets a server refuse device IDs outside RFC 3986's unreserved
# characters or too short to be unique; the upper bound keeps rows small.
_DEVICE_ID = re.compile(r"^[A-Za-z0-9\-._~]{10,128}$")
_MAX_SCOPE = 1024


@dataclass(frozen=True, slots=True)
class MatrixScope:
    device_id: str
    granted: str  # the scope tokens granted, space-separated


def parse_scope(scope: str | None) -> MatrixScope:
    """The device and the granted scope; ``invalid_scope`` without full API access
    or without exactly one device. Tokens revier doesn't know (``openid``,
    another server's) are not granted and not an error: the token response says
    what was granted (RFC 6749 3.3)."""
    if not scope or len(scope) > _MAX_SCOPE:
        raise InvalidScopeError("The scope must name the API and one device")
    tokens = scope.split(" ")
    api = [t for t in tokens if t in API_SCOPES]
    device_tokens = [t for t in tokens if t.startswith(DEVICE_PREFIXES)]
    if not api:
        raise InvalidScopeError("The scope must include urn:matrix:client:api:*")
    if len(device_tokens) != 1:
        raise InvalidScopeError("The scope must include exactly one urn:matrix:client:device:")
    device_token = device_tokens[0]
    device_id = device_token.split(":device:", 1)[1]
    if not _DEVICE_ID.match(device_id):
        raise InvalidScopeError("The device ID must be 10 to 128 characters of A-Z a-z 0-9 - . _ ~")
    return MatrixScope(device_id, f"{api[0]} {device_token}")
