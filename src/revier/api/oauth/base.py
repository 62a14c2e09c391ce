"""What the OAuth endpoints share: the tenant's public URLs, bounded form bodies,
and OAuth's error responses."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from authlib.oauth2.rfc6749.errors import InvalidRequestError, OAuth2Error
from starlette.requests import Request
from starlette.responses import Response

from revier.api.http import read_body, services, tenant
from revier.api.responses import json_response
from revier.errors import NotFound, TooLarge

PREFIX = "/_revier/oauth2"
AUTHORIZE_PATH = f"{PREFIX}/authorize"
TOKEN_PATH = f"{PREFIX}/token"
REVOKE_PATH = f"{PREFIX}/revoke"
REGISTER_PATH = f"{PREFIX}/register"
DEVICE_PATH = f"{PREFIX}/device"
VERIFY_PATH = f"{PREFIX}/device/verify"
# The m.oauth stage's approval page (cross-signing reset).
RESET_PATH = f"{PREFIX}/cross_signing_reset"
ACCOUNT_PATH = "/_revier/account"
# A token request is a handful of short fields; anything bigger is not one.
MAX_FORM_BYTES = 8192
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def public_base(request: Request) -> str:
    """The tenant's base URL as its clients reach it: ``server.public_baseurl``
    when that names this tenant (on a single tenant, always), else the scheme
    and Host of the request, which on a server of several tenants named this
    tenant exactly (the Host picks the tenant)."""
    svc = services(request)
    org = tenant(request)
    configured = svc.settings.server.public_baseurl
    if configured:
        try:
            if svc.tenants.for_host(urlsplit(configured).netloc) is org:
                return configured.rstrip("/")
        except NotFound:
            pass
    host = request.headers.get("host") or org.server_name
    return f"{request.url.scheme}://{host}"


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (RFC 6749 3.2), bounded; a
    parameter given twice is refused (RFC 6749 3.1)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise InvalidRequestError("Send the parameters as application/x-www-form-urlencoded")
    try:
        body = await read_body(request, MAX_FORM_BYTES, "too large")
    except TooLarge:
        raise InvalidRequestError("The request body is too large") from None
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=32)
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequestError("The request body could not be read") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise InvalidRequestError(f"'{name}' is given more than once")
        fields[name] = value
    return fields


def oauth_error(error: OAuth2Error) -> Response:
    """RFC 6749 5.2's JSON error, never cached."""
    body = {"error": error.error}
    if error.description:
        body["error_description"] = error.description
    return json_response(body, status=error.status_code or 400, headers=NO_STORE)
