"""Dynamic client registration (RFC 7591) with the spec's client metadata and
redirect URI rules ("Client registration", "Redirect URI validation").

Every client is public (``token_endpoint_auth_method`` "none": an app on a
phone can't keep a secret); PKCE proves the code's requester instead. A
client belongs to the tenant it registered with: its ``client_id`` is unknown
at every other tenant's endpoints.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

from authlib.oauth2.rfc6749.errors import InvalidClientError
from authlib.oauth2.rfc7591.errors import InvalidClientMetadataError, InvalidRedirectURIError

from revier.services.core import Clock, RateLimiter, Tenant
from revier.storage import Store
from revier.storage.signin import SigninRepos

AUTHORIZATION_CODE = "authorization_code"
REFRESH_TOKEN = "refresh_token"
DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"
GRANT_TYPES = (AUTHORIZATION_CODE, REFRESH_TOKEN, DEVICE_CODE)
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
_MAX_URI = 2048
_MAX_REDIRECT_URIS = 10
_MAX_NAME = 255
# A registration no sign-in has used for a day is forgotten (a sign-in takes
# minutes; the device grant's code lives ten).
UNUSED_CLIENT_MS = 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class Client:
    client_id: str
    client_name: str | None
    client_uri: str
    application_type: str
    redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...]

    @classmethod
    def of(cls, client_id: str, metadata: Mapping[str, Any]) -> Client:
        return cls(
            client_id,
            metadata.get("client_name"),
            metadata["client_uri"],
            metadata["application_type"],
            tuple(metadata.get("redirect_uris", ())),
            tuple(metadata["grant_types"]),
        )

    def redirect_uri_matches(self, redirect_uri: str) -> bool:
        """Registered exactly; a native app's loopback URI with any port (spec)."""
        if redirect_uri in self.redirect_uris:
            return True
        if self.application_type != "native":
            return False
        parts = _split(redirect_uri)
        if parts is None or parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS:
            return False
        if "@" in parts.netloc:
            return False  # a user part would be dropped below, and then mislead
        host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
        without_port = parts._replace(netloc=host or "").geturl()
        return without_port in self.redirect_uris


class OAuthClients:
    def __init__(self, store: Store, clock: Clock, per_address: RateLimiter) -> None:
        self._store = store
        self._clock = clock
        self._per_address = per_address

    async def register(
        self, tenant: Tenant, request: Mapping[str, Any], *, address: str
    ) -> dict[str, Any]:
        """POST /_revier/oauth2/register: the registered metadata with its new
        ``client_id``; ``invalid_redirect_uri`` / ``invalid_client_metadata``."""
        self._per_address.check(address)
        metadata = registered_metadata(request)
        client_id = secrets.token_urlsafe(16)
        now = self._clock.time_ms()
        async with self._store.transaction() as tx:
            db = SigninRepos.of(tx).oauth
            await db.forget_unused_clients(now - UNUSED_CLIENT_MS)
            await db.add_client(client_id, tenant.server_name, metadata, now)
        return {"client_id": client_id, **metadata}

    async def get(self, tenant: Tenant, client_id: str | None) -> Client:
        """The tenant's client, else ``invalid_client``."""
        if not client_id or len(client_id) > 64:
            raise InvalidClientError("Unknown client_id; register the client first")
        async with self._store.read() as tx:
            row = await SigninRepos.of(tx).oauth.client(client_id)
        if row is None or row.tenant != tenant.server_name:
            raise InvalidClientError("Unknown client_id; register the client first")
        return Client.of(row.client_id, row.client_metadata)


def registered_metadata(request: Mapping[str, Any]) -> dict[str, Any]:
    """What is registered of a request: checked, unsupported values dropped (RFC
    7591 3.2.1 lets the server replace them), localised variants left out."""
    client_uri = _https_uri(request.get("client_uri"), "client_uri")
    base = urlsplit(client_uri).hostname or ""
    application_type = request.get("application_type", "web")
    if application_type not in ("web", "native"):
        raise InvalidClientMetadataError("application_type must be web or native")
    auth_method = request.get("token_endpoint_auth_method", "none")
    if auth_method != "none":
        raise InvalidClientMetadataError("Only public clients: token_endpoint_auth_method none")
    grant_types = _strings(request.get("grant_types", [AUTHORIZATION_CODE]), "grant_types")
    grants = [g for g in GRANT_TYPES if g in grant_types]
    response_types = _strings(request.get("response_types", ["code"]), "response_types")
    if AUTHORIZATION_CODE in grants and "code" not in response_types:
        raise InvalidClientMetadataError("response_types must include code")
    redirect_uris = _strings(request.get("redirect_uris", []), "redirect_uris")
    if len(redirect_uris) > _MAX_REDIRECT_URIS:
        raise InvalidRedirectURIError(f"At most {_MAX_REDIRECT_URIS} redirect_uris")
    if AUTHORIZATION_CODE in grants and not redirect_uris:
        raise InvalidRedirectURIError("The authorization code grant needs redirect_uris")
    for uri in redirect_uris:
        _check_redirect_uri(uri, base, native=application_type == "native")
    if not grants:
        raise InvalidClientMetadataError("No grant type this server supports was asked for")
    out: dict[str, Any] = {
        "client_uri": client_uri,
        "application_type": application_type,
        "token_endpoint_auth_method": "none",
        "grant_types": grants,
        "response_types": ["code"] if AUTHORIZATION_CODE in grants else [],
        "redirect_uris": redirect_uris,
    }
    name = request.get("client_name")
    if name is not None:
        if not isinstance(name, str) or not name.strip() or len(name) > _MAX_NAME:
            raise InvalidClientMetadataError(f"client_name: 1 to {_MAX_NAME} characters")
        out["client_name"] = name
    for key in ("logo_uri", "tos_uri", "policy_uri"):
        if request.get(key) is not None:
            uri = _https_uri(request[key], key)
            if not _on_base(urlsplit(uri).hostname or "", base):
                raise InvalidClientMetadataError(f"{key} must be on the client_uri's host")
            out[key] = uri
    return out


def _check_redirect_uri(uri: str, base: str, *, native: bool) -> None:
    parts = _split(uri)
    if parts is None or parts.fragment or "#" in uri:
        raise InvalidRedirectURIError("A redirect URI must be a URI without a fragment")
    if parts.scheme == "https":
        if parts.username or parts.password or not _on_base(parts.hostname or "", base):
            raise InvalidRedirectURIError("An https redirect URI must be on the client_uri's host")
        return
    if not native:
        raise InvalidRedirectURIError("A web client's redirect URIs must use https")
    if parts.scheme == "http":
        if parts.hostname not in LOOPBACK_HOSTS or parts.port is not None or parts.username:
            raise InvalidRedirectURIError("http only on the loopback interface, without a port")
        return
    # A private-use scheme: the client_uri's host reversed, and no authority.
    reverse = ".".join(reversed(base.split(".")))
    if not (parts.scheme == reverse or parts.scheme.startswith(reverse + ".")):
        raise InvalidRedirectURIError(f"A private-use URI scheme must start with {reverse}")
    if uri[len(parts.scheme) + 1 :].startswith("//"):
        raise InvalidRedirectURIError("A private-use URI must not have an authority")


def _https_uri(value: object, key: str) -> str:
    parts = _split(value) if isinstance(value, str) else None
    if parts is None or parts.scheme != "https" or not parts.hostname:
        raise InvalidClientMetadataError(f"{key} must be an https URL")
    if parts.username or parts.password or parts.fragment:
        raise InvalidClientMetadataError(f"{key} must have no user, password or fragment")
    assert isinstance(value, str)
    return value


def _on_base(host: str, base: str) -> bool:
    """The same host as the client_uri or one of its subdomains (spec); never an
    IP address, whose "subdomains" mean nothing."""
    host, base = host.lower(), base.lower()
    if not base or _is_ip(base):
        return host == base and bool(host)
    return host == base or host.endswith("." + base)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _split(value: object) -> SplitResult | None:
    if not isinstance(value, str) or not value or len(value) > _MAX_URI:
        return None
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        return None  # whitespace or control characters: never a URI of ours
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return None
    return parts if parts.scheme else None


def _strings(value: object, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidClientMetadataError(f"{key} must be a list of strings")
    return list(value)
