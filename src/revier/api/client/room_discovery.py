"""Finding rooms and places in them: room summaries, space hierarchies, mutual rooms,
jumping to a date (spec: "Room Summaries", "Spaces", "Mutual Rooms", "Rooms")."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import (
    access_token,
    authenticate,
    query_bool,
    query_int,
    services,
    tenant,
)
from revier.api.responses import json_response
from revier.errors import InvalidParam, MissingParam
from revier.services.rooms import HierarchyQuery

V1 = "/_matrix/client/v1"


async def get_room_summary(request: Request) -> Response:
    """GET /_matrix/client/v1/room_summary/{roomIdOrAlias}

    The spec lets servers answer without a token for rooms open to join, knock
    or read; an organisation's rooms are for its own people, so a token is
    required unless the tenant's policy says ``public_room_directory``.
    """
    if access_token(request) is None and tenant(request).policy.public_room_directory:
        requester, where = None, tenant(request)
    else:
        requester = await authenticate(request)
        where = requester.tenant
    summary = await services(request).room_summaries.summary(
        requester, where, request.path_params["roomIdOrAlias"]
    )
    return json_response(summary)


async def get_space_hierarchy(request: Request) -> Response:
    """GET /_matrix/client/v1/rooms/{roomId}/hierarchy"""
    requester = await authenticate(request)
    query = HierarchyQuery(
        suggested_only=query_bool(request, "suggested_only"),
        limit=query_int(request, "limit", 50, minimum=1),
        max_depth=query_int(request, "max_depth", 10),
        from_token=request.query_params.get("from"),
    )
    page = await services(request).space_hierarchy.hierarchy(
        requester, request.path_params["roomId"], query
    )
    return json_response(page)


async def get_mutual_rooms(request: Request) -> Response:
    """GET /_matrix/client/v1/mutual_rooms"""
    requester = await authenticate(request)
    q = request.query_params
    page = await services(request).room_lookups.mutual_rooms(
        requester, q.get("user_id"), q.get("from")
    )
    return json_response(page)


async def get_event_by_timestamp(request: Request) -> Response:
    """GET /_matrix/client/v1/rooms/{roomId}/timestamp_to_event"""
    requester = await authenticate(request)
    if "ts" not in request.query_params:
        raise MissingParam("'ts' is required")
    ts = query_int(request, "ts", 0)
    direction = request.query_params.get("dir")
    if direction not in ("f", "b"):
        raise InvalidParam("'dir' must be 'f' or 'b'")
    found = await services(request).room_lookups.event_at(
        requester, request.path_params["roomId"], ts, direction == "f"
    )
    return json_response(found)


routes = [
    Route(f"{V1}/room_summary/{{roomIdOrAlias}}", get_room_summary, methods=["GET"]),
    Route(f"{V1}/rooms/{{roomId}}/hierarchy", get_space_hierarchy, methods=["GET"]),
    Route(f"{V1}/mutual_rooms", get_mutual_rooms, methods=["GET"]),
    Route(f"{V1}/rooms/{{roomId}}/timestamp_to_event", get_event_by_timestamp, methods=["GET"]),
]
