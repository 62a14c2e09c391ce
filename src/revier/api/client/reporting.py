"""Reporting content (spec module "Reporting content"): events, rooms, users, to
the organisation's admins (``services/rooms/reports.py`` says what is kept)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import authenticate, optional_str, read_json_object, required, services
from revier.api.responses import json_response


async def report_event(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/report/{eventId}"""
    requester = await authenticate(request)
    body = await read_json_object(request)
    # ``score`` (removed in v1.18) is accepted from older clients and not kept.
    reason = optional_str(body, "reason")
    p = request.path_params
    await services(request).reports.report_event(requester, p["roomId"], p["eventId"], reason)
    return json_response({})


async def report_room(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/report"""
    requester = await authenticate(request)
    body = await read_json_object(request)
    reason = required(body, "reason", str)
    await services(request).reports.report_room(requester, request.path_params["roomId"], reason)
    return json_response({})


async def report_user(request: Request) -> Response:
    """POST /_matrix/client/v3/users/{userId}/report"""
    requester = await authenticate(request)
    body = await read_json_object(request)
    reason = required(body, "reason", str)
    await services(request).reports.report_user(requester, request.path_params["userId"], reason)
    return json_response({})


routes = [
    Route("/_matrix/client/v3/rooms/{roomId}/report/{eventId}", report_event, methods=["POST"]),
    Route("/_matrix/client/r0/rooms/{roomId}/report/{eventId}", report_event, methods=["POST"]),
    Route("/_matrix/client/v3/rooms/{roomId}/report", report_room, methods=["POST"]),
    Route("/_matrix/client/v3/users/{userId}/report", report_user, methods=["POST"]),
]
