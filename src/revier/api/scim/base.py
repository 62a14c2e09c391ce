"""What every SCIM endpoint shares: the tenant's bearer token, the body as SCIM
JSON, and errors in SCIM's own error schema (RFC 7644 §3.12) with the media
type ``application/scim+json`` — never the Matrix error format."""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from pydantic import ValidationError
from scim2_models import Context, Error, ListResponse, Resource, SCIMException
from starlette.requests import Request
from starlette.responses import Response

from revier.api.http import read_body, services, tenant
from revier.errors import MatrixError, TooLarge
from revier.services.core import Tenant
from revier.services.org import ScimError

BASE = "/_revier/scim/v2"
MEDIA_TYPE = "application/scim+json"
# A SCIM request is one user or one group; a group's member list is the big one.
MAX_BODY = 1024 * 1024

Handler = Callable[[Request, Tenant], Awaitable[Response]]


def scim_response(body: dict[str, Any] | None, status: int = 200, **headers: str) -> Response:
    content = orjson.dumps(body) if body is not None else b""
    return Response(content, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def list_response(
    kind: type[Resource[Any]], total: int, start: int, found: list[dict[str, Any]]
) -> Response:
    """A page of search results (RFC 7644 §3.4.2), each resource as its own
    endpoint shows it."""
    page = ListResponse[kind](  # type: ignore[valid-type]
        total_results=total,
        start_index=max(start, 1),
        items_per_page=len(found),
        resources=[
            kind.model_validate(one, scim_ctx=Context.RESOURCE_QUERY_RESPONSE) for one in found
        ],
    )
    return scim_response(page.model_dump(scim_ctx=Context.SEARCH_RESPONSE))


def error_response(status: int, detail: str, scim_type: str | None = None) -> Response:
    error = Error(status=status, scim_type=scim_type, detail=detail)
    headers = {"WWW-Authenticate": 'Bearer realm="SCIM"'} if status == 401 else {}
    return scim_response(error.model_dump(), status, **headers)


def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A SCIM handler: the bearer token checked against the Host's tenant (a
    wrong token, or another tenant's, is 401), every failure a SCIM error."""

    @functools.wraps(handler)
    async def run(request: Request) -> Response:
        try:
            owner = tenant(request)
            token = _bearer(request)
            if token is None or not await services(request).org_directory.scim_tokens.accepts(
                owner, token
            ):
                return error_response(401, "A valid SCIM bearer token of this tenant is required")
            return await handler(request, owner)
        except ScimError as e:
            return error_response(e.status, e.detail, e.scim_type)
        except SCIMException as e:
            return error_response(int(e.status), str(e.detail), e.scim_type or None)
        except ValidationError as e:
            return error_response(400, _validation_detail(e), _validation_type(e))
        except TooLarge as e:
            return error_response(413, e.error)
        except MatrixError as e:  # a name the accounts wing refuses, and the like
            return error_response(400, e.error, "invalidValue")

    return run


async def read_scim_json(request: Request) -> dict[str, Any]:
    body = await read_body(request, MAX_BODY, f"The request body is larger than {MAX_BODY} bytes")
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ScimError(400, "The request body is not valid JSON", "invalidSyntax") from None
    if not isinstance(value, dict):
        raise ScimError(400, "The request body must be a JSON object", "invalidSyntax")
    return value


def page_params(request: Request) -> tuple[int, int]:
    """SCIM's ``startIndex`` (1-based) and ``count``."""
    return _int(request, "startIndex", 1), _int(request, "count", 100)


def eq_filter(request: Request, attribute: str) -> str | None:
    """The value of a ``filter=<attribute> eq "<value>"``, the one filter served."""
    raw = request.query_params.get("filter")
    if raw is None:
        return None
    match = re.fullmatch(rf'\s*{attribute}\s+eq\s+"((?:[^"\\]|\\.)*)"\s*', raw, re.IGNORECASE)
    if match is None or "\x00" in raw or len(raw) > 1024:
        raise ScimError(400, f'Only the filter {attribute} eq "…" is supported', "invalidFilter")
    return re.sub(r"\\(.)", r"\1", match.group(1))


def location(request: Request, kind: str, scim_id: str) -> str:
    return str(request.base_url).rstrip("/") + f"{BASE}/{kind}/{scim_id}"


def path_id(request: Request) -> str:
    value: str = request.path_params["id"]
    if not re.fullmatch(r"[0-9a-f]{32}|[\w.:=,@+-]{1,1024}", value):
        raise ScimError(404, f"No resource {value[:64]!r}")
    return value


def _int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.lstrip("-").isdigit()) or len(raw) > 9:
        raise ScimError(400, f"{name} must be an integer", "invalidValue")
    return int(raw)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _validation_type(e: ValidationError) -> str:
    for error in e.errors():
        if str(error["type"]).startswith("scim_"):
            return str(error["type"]).removeprefix("scim_")
    return "invalidValue"


def _validation_detail(e: ValidationError) -> str:
    first = e.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])
