"""Room creation, events and state (spec: "Rooms", "Events")."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import authenticate, optional_str, read_json_object, services
from revier.api.responses import json_response

V3 = "/_matrix/client/v3"


async def create_room(request: Request) -> Response:
    """POST /_matrix/client/v3/createRoom"""
    requester = await authenticate(request)
    body = await read_json_object(request)
    room_id = await services(request).rooms.create_room(requester, body)
    return json_response({"room_id": room_id})


async def send_message(request: Request) -> Response:
    """PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}"""
    requester = await authenticate(request)
    content = await read_json_object(request)
    p = request.path_params
    event_id = await services(request).rooms.send_event(
        requester, p["roomId"], p["eventType"], p["txnId"], content
    )
    return json_response({"event_id": event_id})


async def set_room_state(request: Request) -> Response:
    """PUT /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}"""
    requester = await authenticate(request)
    content = await read_json_object(request)
    p = request.path_params
    event_id = await services(request).rooms.send_state(
        requester, p["roomId"], p["eventType"], p.get("stateKey", ""), content
    )
    return json_response({"event_id": event_id})


async def get_room_state(request: Request) -> Response:
    """GET /_matrix/client/v3/rooms/{roomId}/state"""
    requester = await authenticate(request)
    events = await services(request).rooms.get_state(requester, request.path_params["roomId"])
    return json_response(events)


async def get_room_state_with_key(request: Request) -> Response:
    """GET /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}"""
    requester = await authenticate(request)
    p = request.path_params
    pdu = await services(request).rooms.get_state_event(
        requester, p["roomId"], p["eventType"], p.get("stateKey", "")
    )
    if request.query_params.get("format") == "event":
        return json_response(pdu.client_format())
    return json_response(dict(pdu.content))


async def redact_event(request: Request) -> Response:
    """PUT /_matrix/client/v3/rooms/{roomId}/redact/{eventId}/{txnId}"""
    requester = await authenticate(request)
    body = await read_json_object(request, allow_empty=True)
    p = request.path_params
    event_id = await services(request).rooms.redact(
        requester, p["roomId"], p["eventId"], p["txnId"], optional_str(body, "reason")
    )
    return json_response({"event_id": event_id})


async def get_one_room_event(request: Request) -> Response:
    """GET /_matrix/client/v3/rooms/{roomId}/event/{eventId}"""
    requester = await authenticate(request)
    p = request.path_params
    return json_response(
        await services(request).rooms.get_event(requester, p["roomId"], p["eventId"])
    )


async def get_joined_rooms(request: Request) -> Response:
    """GET /_matrix/client/v3/joined_rooms"""
    requester = await authenticate(request)
    return json_response({"joined_rooms": await services(request).rooms.joined_rooms(requester)})


routes = [
    Route(f"{V3}/createRoom", create_room, methods=["POST"]),
    Route(f"{V3}/rooms/{{roomId}}/send/{{eventType}}/{{txnId}}", send_message, methods=["PUT"]),
    Route(f"{V3}/rooms/{{roomId}}/state", get_room_state, methods=["GET"]),
    Route(f"{V3}/rooms/{{roomId}}/state/{{eventType}}", get_room_state_with_key, methods=["GET"]),
    Route(f"{V3}/rooms/{{roomId}}/state/{{eventType}}", set_room_state, methods=["PUT"]),
    Route(
        f"{V3}/rooms/{{roomId}}/state/{{eventType}}/{{stateKey:path}}",
        get_room_state_with_key,
        methods=["GET"],
    ),
    Route(
        f"{V3}/rooms/{{roomId}}/state/{{eventType}}/{{stateKey:path}}",
        set_room_state,
        methods=["PUT"],
    ),
    Route(f"{V3}/rooms/{{roomId}}/redact/{{eventId}}/{{txnId}}", redact_event, methods=["PUT"]),
    Route(f"{V3}/rooms/{{roomId}}/event/{{eventId}}", get_one_room_event, methods=["GET"]),
    Route(f"{V3}/joined_rooms", get_joined_rooms, methods=["GET"]),
]
