"""Room tags (spec: "Room Tagging"): /user/{userId}/rooms/{roomId}/tags."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import authenticate, read_json_object, services
from revier.api.responses import json_response

V3 = "/_matrix/client/v3"


async def get_room_tags(request: Request) -> Response:
    """GET /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags"""
    requester = await authenticate(request)
    p = request.path_params
    tags = await services(request).tags.get(requester, p["userId"], p["roomId"])
    return json_response({"tags": tags})


async def set_room_tag(request: Request) -> Response:
    """PUT /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags/{tag}"""
    requester = await authenticate(request)
    body = await read_json_object(request)
    p = request.path_params
    await services(request).tags.set(requester, p["userId"], p["roomId"], p["tag"], body)
    return json_response({})


async def delete_room_tag(request: Request) -> Response:
    """DELETE /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags/{tag}"""
    requester = await authenticate(request)
    p = request.path_params
    await services(request).tags.delete(requester, p["userId"], p["roomId"], p["tag"])
    return json_response({})


routes = [
    Route(f"{V3}/user/{{userId}}/rooms/{{roomId}}/tags", get_room_tags, methods=["GET"]),
    Route(f"{V3}/user/{{userId}}/rooms/{{roomId}}/tags/{{tag}}", set_room_tag, methods=["PUT"]),
    Route(
        f"{V3}/user/{{userId}}/rooms/{{roomId}}/tags/{{tag}}", delete_room_tag, methods=["DELETE"]
    ),
]
