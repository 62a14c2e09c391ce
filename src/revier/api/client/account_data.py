"""Client config: account data, global and per room (spec: "Client Config")."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import authenticate, read_json_object, services
from revier.api.responses import json_response

V3 = "/_matrix/client/v3"


async def set_account_data(request: Request) -> Response:
    """PUT /_matrix/client/v3/user/{userId}[/rooms/{roomId}]/account_data/{type}"""
    requester = await authenticate(request)
    content = await read_json_object(request)
    p = request.path_params
    await services(request).account_data.put(
        requester, p["userId"], p.get("roomId", ""), p["type"], content
    )
    return json_response({})


async def get_account_data(request: Request) -> Response:
    """GET /_matrix/client/v3/user/{userId}[/rooms/{roomId}]/account_data/{type}"""
    requester = await authenticate(request)
    p = request.path_params
    content = await services(request).account_data.get(
        requester, p["userId"], p.get("roomId", ""), p["type"]
    )
    return json_response(content)


routes = [
    Route(f"{V3}/user/{{userId}}/account_data/{{type}}", set_account_data, methods=["PUT"]),
    Route(f"{V3}/user/{{userId}}/account_data/{{type}}", get_account_data, methods=["GET"]),
    Route(
        f"{V3}/user/{{userId}}/rooms/{{roomId}}/account_data/{{type}}",
        set_account_data,
        methods=["PUT"],
    ),
    Route(
        f"{V3}/user/{{userId}}/rooms/{{roomId}}/account_data/{{type}}",
        get_account_data,
        methods=["GET"],
    ),
]
