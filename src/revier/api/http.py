"""What every handler needs from a request: services, tenant, requester, body."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from starlette.requests import Request

from revier.api.guests import require_guest_allowed
from revier.errors import BadJson, InvalidParam, MissingParam, MissingToken, NotJson, TooLarge
from revier.services.container import Services
from revier.services.core import Requester, Tenant

T = TypeVar("T")


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def tenant(request: Request) -> Tenant:
    return services(request).tenants.for_host(request.headers.get("host"))


def client_address(request: Request) -> str:
    """The caller's address; X-Forwarded-For is believed only from trusted proxies."""
    peer = request.client.host if request.client else "unknown"
    trusted = services(request).settings.server.trusted_proxies
    if peer not in trusted:
        return peer
    forwarded = request.headers.get("x-forwarded-for", "")
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    # The right-most address a trusted proxy did not add itself is the client.
    for hop in reversed(hops):
        if hop not in trusted:
            return hop
    return peer


async def authenticate(request: Request, *, allow_locked: bool = False) -> Requester:
    """The owner of the ``Authorization: Bearer`` token; a query-string token only in
    conformance mode (elsewhere the middleware refuses it before any handler).
    A locked account gets M_USER_LOCKED unless ``allow_locked`` (logout only)."""
    token = access_token(request)
    if token is None:
        raise MissingToken("Missing access token: send it as 'Authorization: Bearer <token>'")
    svc = services(request)
    requester = await svc.auth.authenticate(
        tenant(request),
        token,
        address=client_address(request),
        allow_locked=allow_locked,
        client=svc.client_versions.identify(request.headers.get("user-agent")),
    )
    request.scope["revier.user_id"] = requester.user_id  # for the access log
    if requester.is_guest:
        require_guest_allowed(request)
    return requester


def access_token(request: Request) -> str | None:
    """The request's access token, if it carries one."""
    header = request.headers.get("authorization")
    url_token = request.query_params.get("access_token")
    if header is not None and url_token is not None:
        # The spec's two ways at once: which one is meant can't be told.
        raise MissingToken("Send the access token in the header or the query, not both")
    if url_token is not None:
        return url_token or None  # reaches here in conformance mode only
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def tenant_of_reader(request: Request, *, public: bool) -> Tenant:
    """The tenant whose public data a request reads: the token's owner's, or — when
    the tenant made that data ``public`` and no token came — the one the Host
    names. A token that is sent is still checked (a wrong one is 401)."""
    if public and access_token(request) is None:
        return tenant(request)
    return (await authenticate(request)).tenant


async def read_body(request: Request, limit: int, too_large: str) -> bytes:
    """The whole body, refused with ``TooLarge(too_large)`` once it (or what the
    request declares) passes ``limit`` bytes — before more is read."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(too_large)
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(too_large)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json_object(request: Request, *, allow_empty: bool = False) -> dict[str, Any]:
    """The body as a JSON object, read with the configured size limit."""
    limit = services(request).settings.server.max_request_body_bytes
    body = await read_body(request, limit, f"The request body is larger than {limit} bytes")
    if not body.strip() and allow_empty:
        return {}
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise NotJson("The request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise BadJson("The request body must be a JSON object")
    return value


def field(body: dict[str, Any], name: str, kind: type[T], *, required: bool = True) -> T | None:
    """``body[name]`` checked to be of ``kind``: M_MISSING_PARAM / M_BAD_JSON otherwise."""
    if name not in body or body[name] is None:
        if required:
            raise MissingParam(f"'{name}' is required")
        return None
    value = body[name]
    # bool is an int in Python, but never a valid JSON integer field.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadJson(f"'{name}' must be of type {_json_type(kind)}")
    return value


def required(body: dict[str, Any], name: str, kind: type[T]) -> T:
    value = field(body, name, kind)
    assert value is not None
    return value


def _json_type(kind: type) -> str:
    return {str: "string", int: "integer", bool: "boolean", dict: "object", list: "array"}.get(
        kind, kind.__name__
    )


def optional_str(body: dict[str, Any], name: str) -> str | None:
    return field(body, name, str, required=False)


def query_int(request: Request, name: str, default: int, *, minimum: int = 0) -> int:
    """An integer query parameter; M_INVALID_PARAM when it isn't one."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParam(f"'{name}' must be an integer") from None
    if value < minimum:
        raise InvalidParam(f"'{name}' must be at least {minimum}")
    return value


def query_bool(request: Request, name: str, default: bool = False) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if raw not in ("true", "false"):
        raise InvalidParam(f"'{name}' must be true or false")
    return raw == "true"
