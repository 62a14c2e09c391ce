"""What every admin endpoint shares: who may call it, whose data it may touch,
and paging.

An admin acts within their own tenant only: the Host header picks the tenant,
an access token of another tenant is unknown there, and a user or room ID of
another tenant is "not found" rather than "forbidden", so nothing about other
organisations leaks.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from revier.api.http import authenticate, query_int
from revier.errors import BadJson, Forbidden, InvalidParam
from revier.services.core import Requester

MAX_PAGE = 1000


async def require_admin(request: Request) -> Requester:
    requester = await authenticate(request)
    if not requester.is_admin:
        raise Forbidden("Only the organisation's admins may do this")
    return requester


def page_params(request: Request, *, default_limit: int = 100) -> tuple[int, int]:
    """``from`` (the ``next_token`` of the previous page; default the start) and
    ``limit`` (1 to 1000)."""
    raw = request.query_params.get("from", "0")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:  # "²" is a digit to isdigit
        raise InvalidParam("'from' must be a next_token from a previous page")
    limit = query_int(request, "limit", default_limit, minimum=1)
    if limit > MAX_PAGE:
        raise InvalidParam(f"'limit' may be at most {MAX_PAGE}")
    return int(raw), limit


def next_token(start: int, got: int, limit: int) -> str | None:
    """The token of the page after one that started at ``start`` (offset paging),
    or None when that page was the last."""
    return str(start + got) if got == limit else None


def int_or_null(body: dict[str, Any], name: str) -> int | None:
    """A field that is a JSON integer or null (the caller checks it is present)."""
    value = body[name]
    # bool is an int in Python, but never a JSON integer.
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise BadJson(f"'{name}' must be an integer or null")
    return value
