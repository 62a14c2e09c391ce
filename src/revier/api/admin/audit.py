"""Reading the audit log: a filtered, paged list, and the whole selection as a file.

An admin sees the entries of their own tenant only. Paging is by entry ID
(``from`` is the ``next_token`` of the previous page), so entries appended
while someone pages never shift or repeat a page.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from revier.api.admin.base import page_params, require_admin
from revier.api.http import services
from revier.api.responses import json_response
from revier.errors import InvalidParam
from revier.services.core import Actor, AuditQuery

# Timestamps are milliseconds since the epoch; a bound keeps absurd values
# from overflowing a BIGINT in the database.
_MAX_TS = 2**53


async def list_audit_entries(request: Request) -> Response:
    """GET /_revier/admin/v1/audit"""
    requester = await require_admin(request)
    query = audit_query(request)
    after_id, limit = page_params(request)
    entries = await services(request).audit.page(
        requester.tenant, query, after_id=after_id, limit=limit
    )
    body: dict[str, object] = {"entries": [e.to_json() for e in entries]}
    if len(entries) == limit:
        body["next_token"] = str(entries[-1].id)
    return json_response(body)


async def export_audit_entries(request: Request) -> Response:
    """GET /_revier/admin/v1/audit/export"""
    requester = await require_admin(request)
    query = audit_query(request)
    svc = services(request)
    lines = await svc.audit.export(requester.tenant, query, Actor.of(requester))
    day = datetime.fromtimestamp(svc.clock.time_ms() / 1000, UTC).date().isoformat()
    filename = f"audit-{requester.tenant.server_name}-{day}.jsonl"
    return StreamingResponse(
        lines,
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def audit_query(request: Request) -> AuditQuery:
    """The filters of the query string (each optional, combined with AND)."""
    return AuditQuery(
        actor=_query_str(request, "actor"),
        target=_query_str(request, "target"),
        action=_query_str(request, "action"),
        since_ts=_query_ts(request, "since_ts"),
        until_ts=_query_ts(request, "until_ts"),
    )


def _query_str(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    if value is None:
        return None
    # PostgreSQL text can't hold NUL; no actor, target or action contains one.
    if "\x00" in value or len(value) > 1000:
        raise InvalidParam(f"'{name}' is not a valid filter")
    return value


def _query_ts(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 16) or int(raw) > _MAX_TS:
        raise InvalidParam(f"'{name}' must be a timestamp in milliseconds since the epoch")
    return int(raw)


routes = [
    Route("/_revier/admin/v1/audit", list_audit_entries, methods=["GET"]),
    Route("/_revier/admin/v1/audit/export", export_audit_entries, methods=["GET"]),
]
