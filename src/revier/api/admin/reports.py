"""Content reports for the organisation's admins: list (filtered, paged), show,
resolve. An admin sees their own tenant's reports only; another tenant's
report ID is "not found". A report names what was reported and who reported
it, never the content."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.admin.base import page_params, require_admin
from revier.api.http import query_bool, read_json_object, services
from revier.api.responses import json_response
from revier.errors import InvalidParam, NotFound
from revier.services.core import Actor
from revier.services.rooms import ReportQuery

REPORTS = "/_revier/admin/v1/reports"
REPORT = REPORTS + "/{reportId}"
_KINDS = ("event", "room", "user")


async def list_reports(request: Request) -> Response:
    """GET /_revier/admin/v1/reports"""
    requester = await require_admin(request)
    query = _report_query(request)
    after_id, limit = page_params(request)
    reports = await services(request).reports.page(
        requester.tenant, query, after_id=after_id, limit=limit
    )
    body: dict[str, object] = {"reports": [r.to_json() for r in reports]}
    if len(reports) == limit:
        body["next_token"] = str(reports[-1].report_id)
    return json_response(body)


async def get_report(request: Request) -> Response:
    """GET /_revier/admin/v1/reports/{reportId}"""
    requester = await require_admin(request)
    report = await services(request).reports.get(requester.tenant, _report_id(request))
    return json_response(report.to_json())


async def resolve_report(request: Request) -> Response:
    """POST /_revier/admin/v1/reports/{reportId}/resolve"""
    requester = await require_admin(request)
    await read_json_object(request, allow_empty=True)
    report = await services(request).reports.resolve(
        requester.tenant, _report_id(request), Actor.of(requester)
    )
    return json_response(report.to_json())


def _report_id(request: Request) -> int:
    raw: str = request.path_params["reportId"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise NotFound(f"No report {raw[:40]!r}")
    return int(raw)


def _report_query(request: Request) -> ReportQuery:
    params = request.query_params
    kind = params.get("kind")
    if kind is not None and kind not in _KINDS:
        raise InvalidParam(f"'kind' must be one of {', '.join(_KINDS)}")
    return ReportQuery(
        kind=kind,
        reporter=_id_filter(request, "reporter"),
        room_id=_id_filter(request, "room_id"),
        target_user_id=_id_filter(request, "target_user_id"),
        resolved=query_bool(request, "resolved") if "resolved" in params else None,
    )


def _id_filter(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    # PostgreSQL text can't hold NUL; no Matrix ID contains one or is this long.
    if value is not None and ("\x00" in value or len(value) > 255):
        raise InvalidParam(f"'{name}' is not a valid filter")
    return value


routes = [
    Route(REPORTS, list_reports, methods=["GET"]),
    Route(REPORT, get_report, methods=["GET"]),
    Route(REPORT + "/resolve", resolve_report, methods=["POST"]),
]
