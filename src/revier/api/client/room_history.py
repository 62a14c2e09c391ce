"""Reading rooms: /messages, /context, /members, /joined_members (spec: "Rooms", "Events")."""

from __future__ import annotations

from typing import Literal

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import authenticate, query_int, services
from revier.api.responses import json_response
from revier.errors import InvalidParam, MissingParam
from revier.services.rooms import MessagesQuery, parse_room_event_filter

V3 = "/_matrix/client/v3"
MEMBERSHIPS = ("join", "invite", "knock", "leave", "ban")


async def get_room_events(request: Request) -> Response:
    """GET /_matrix/client/v3/rooms/{roomId}/messages"""
    requester = await authenticate(request)
    q = request.query_params
    direction = q.get("dir")
    if direction is None:
        raise MissingParam("'dir' is required")
    if direction not in ("b", "f"):
        raise InvalidParam("'dir' must be 'b' or 'f'")
    query = MessagesQuery(
        direction=_direction(direction),
        from_token=q.get("from"),
        to_token=q.get("to"),
        limit=query_int(request, "limit", 10),
        filter=parse_room_event_filter(q.get("filter")),
    )
    body = await services(request).room_reader.messages(
        requester, request.path_params["roomId"], query
    )
    return json_response(body)


async def get_event_context(request: Request) -> Response:
    """GET /_matrix/client/v3/rooms/{roomId}/context/{eventId}"""
    requester = await authenticate(request)
    p = request.path_params
    body = await services(request).room_reader.context(
        requester,
        p["roomId"],
        p["eventId"],
        query_int(request, "limit", 10),
        parse_room_event_filter(request.query_params.get("filter")),
    )
    return json_response(body)


async def get_members_by_room(request: Request) -> Response:
    """GET /_matrix/client/v3/rooms/{roomId}/members"""
    requester = await authenticate(request)
    q = request.query_params
    chunk = await services(request).room_reader.members(
        requester,
        request.path_params["roomId"],
        at=q.get("at"),
        membership=_membership(q.get("membership"), "membership"),
        not_membership=_membership(q.get("not_membership"), "not_membership"),
    )
    return json_response({"chunk": chunk})


async def get_joined_members_by_room(request: Request) -> Response:
    """GET /_matrix/client/v3/rooms/{roomId}/joined_members"""
    requester = await authenticate(request)
    body = await services(request).room_reader.joined_members(
        requester, request.path_params["roomId"]
    )
    return json_response(body)


def _direction(value: str) -> Literal["b", "f"]:
    return "b" if value == "b" else "f"


def _membership(value: str | None, name: str) -> str | None:
    if value is not None and value not in MEMBERSHIPS:
        raise InvalidParam(f"'{name}' must be one of {', '.join(MEMBERSHIPS)}")
    return value


routes = [
    Route(f"{V3}/rooms/{{roomId}}/messages", get_room_events, methods=["GET"]),
    Route(f"{V3}/rooms/{{roomId}}/context/{{eventId}}", get_event_context, methods=["GET"]),
    Route(f"{V3}/rooms/{{roomId}}/members", get_members_by_room, methods=["GET"]),
    Route(f"{V3}/rooms/{{roomId}}/joined_members", get_joined_members_by_room, methods=["GET"]),
]
