"""Room upgrades (spec: "Room Upgrades")."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import authenticate, read_json_object, services
from revier.api.responses import json_response

V3 = "/_matrix/client/v3"


async def upgrade_room(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/upgrade"""
    requester = await authenticate(request)
    body = await read_json_object(request)
    replacement = await services(request).room_upgrades.upgrade(
        requester, request.path_params["roomId"], body
    )
    return json_response({"replacement_room": replacement})


routes = [Route(f"{V3}/rooms/{{roomId}}/upgrade", upgrade_room, methods=["POST"])]
