"""Room membership (spec: "Room membership")."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import authenticate, optional_str, read_json_object, required, services
from revier.api.responses import json_response

V3 = "/_matrix/client/v3"


async def join_room(request: Request) -> Response:
    """POST /_matrix/client/v3/join/{roomIdOrAlias} and /rooms/{roomId}/join"""
    requester = await authenticate(request)
    body = await read_json_object(request, allow_empty=True)
    target = request.path_params.get("roomIdOrAlias") or request.path_params["roomId"]
    room_id = await services(request).membership.join(
        requester, target, optional_str(body, "reason"), extra=body
    )
    return json_response({"room_id": room_id})


async def knock_room(request: Request) -> Response:
    """POST /_matrix/client/v3/knock/{roomIdOrAlias}"""
    requester = await authenticate(request)
    body = await read_json_object(request, allow_empty=True)
    room_id = await services(request).membership.knock(
        requester, request.path_params["roomIdOrAlias"], optional_str(body, "reason")
    )
    return json_response({"room_id": room_id})


async def leave_room(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/leave"""
    requester = await authenticate(request)
    body = await read_json_object(request, allow_empty=True)
    await services(request).membership.leave(
        requester, request.path_params["roomId"], optional_str(body, "reason")
    )
    return json_response({})


async def forget_room(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/forget"""
    requester = await authenticate(request)
    await read_json_object(request, allow_empty=True)
    await services(request).membership.forget(requester, request.path_params["roomId"])
    return json_response({})


def _targeted(action: str):  # type: ignore[no-untyped-def]
    async def handler(request: Request) -> Response:
        requester = await authenticate(request)
        body = await read_json_object(request)
        user_id = required(body, "user_id", str)
        method = getattr(services(request).membership, action)
        await method(
            requester, request.path_params["roomId"], user_id, optional_str(body, "reason")
        )
        return json_response({})

    handler.__name__ = f"{action}_user"
    handler.__doc__ = f"POST /_matrix/client/v3/rooms/{{roomId}}/{action}"
    return handler


routes = [
    Route(f"{V3}/join/{{roomIdOrAlias}}", join_room, methods=["POST"]),
    Route(f"{V3}/rooms/{{roomId}}/join", join_room, methods=["POST"]),
    Route(f"{V3}/knock/{{roomIdOrAlias}}", knock_room, methods=["POST"]),
    Route(f"{V3}/rooms/{{roomId}}/leave", leave_room, methods=["POST"]),
    Route(f"{V3}/rooms/{{roomId}}/forget", forget_room, methods=["POST"]),
    *(
        Route(f"{V3}/rooms/{{roomId}}/{action}", _targeted(action), methods=["POST"])
        for action in ("invite", "kick", "ban", "unban")
    ),
]
