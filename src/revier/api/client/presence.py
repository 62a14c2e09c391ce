"""Presence (spec: "Presence")."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import authenticate, optional_str, read_json_object, required, services
from revier.api.responses import json_response

V3 = "/_matrix/client/v3"


async def set_presence(request: Request) -> Response:
    """PUT /_matrix/client/v3/presence/{userId}/status"""
    requester = await authenticate(request)
    body = await read_json_object(request)
    presence = required(body, "presence", str)
    status_msg = optional_str(body, "status_msg")
    await services(request).presence.set_presence(
        requester, request.path_params["userId"], presence, status_msg
    )
    return json_response({})


async def get_presence(request: Request) -> Response:
    """GET /_matrix/client/v3/presence/{userId}/status"""
    requester = await authenticate(request)
    return json_response(
        await services(request).presence.get_presence(requester, request.path_params["userId"])
    )


routes = [
    Route(f"{V3}/presence/{{userId}}/status", set_presence, methods=["PUT"]),
    Route(f"{V3}/presence/{{userId}}/status", get_presence, methods=["GET"]),
]
