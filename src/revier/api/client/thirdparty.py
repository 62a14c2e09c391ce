"""Third-party lookups (spec: "Third-party Networks"), answered for a server without bridges.

revier runs no application services, so no protocol is bridged: the protocol
list is empty, a named protocol is unknown (404), and the reverse lookups by
Matrix alias or user ID find nothing ([]). Element asks for the protocols at
every start; the others answer as the spec says for what the server knows.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import authenticate
from revier.api.responses import json_response
from revier.errors import MissingParam, NotFound

V3 = "/_matrix/client/v3/thirdparty"


async def get_protocols(request: Request) -> Response:
    """GET /_matrix/client/v3/thirdparty/protocols"""
    await authenticate(request)
    return json_response({})


async def get_protocol_metadata(request: Request) -> Response:
    """GET /_matrix/client/v3/thirdparty/protocol/{protocol}
    (also location/{protocol} and user/{protocol}: no bridge serves any protocol)"""
    await authenticate(request)
    raise NotFound("No bridge on this server serves that protocol")


async def query_location_by_alias(request: Request) -> Response:
    """GET /_matrix/client/v3/thirdparty/location?alias="""
    await authenticate(request)
    _required(request, "alias")
    return json_response([])


async def query_user_by_id(request: Request) -> Response:
    """GET /_matrix/client/v3/thirdparty/user?userid="""
    await authenticate(request)
    _required(request, "userid")
    return json_response([])


def _required(request: Request, name: str) -> None:
    if not request.query_params.get(name):
        raise MissingParam(f"'{name}' is required")


routes = [
    Route(f"{V3}/protocols", get_protocols, methods=["GET"]),
    Route(f"{V3}/protocol/{{protocol}}", get_protocol_metadata, methods=["GET"]),
    Route(f"{V3}/location/{{protocol}}", get_protocol_metadata, methods=["GET"]),
    Route(f"{V3}/user/{{protocol}}", get_protocol_metadata, methods=["GET"]),
    Route(f"{V3}/location", query_location_by_alias, methods=["GET"]),
    Route(f"{V3}/user", query_user_by_id, methods=["GET"]),
]
