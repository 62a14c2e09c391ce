"""TURN server credentials for calls (spec "Voice over IP")."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import authenticate, services
from revier.api.responses import json_response
from revier.errors import NotFound


async def get_turn_server(request: Request) -> Response:
    """GET /_matrix/client/v3/voip/turnServer"""
    requester = await authenticate(request)
    credentials = services(request).turn.credentials(requester)
    if credentials is None:
        # The spec's 200 requires all four fields; with no TURN server there are
        # none to give (clients then call without a relay).
        raise NotFound("No TURN server is configured for this server")
    return json_response(
        {
            "username": credentials.username,
            "password": credentials.password,
            "uris": credentials.uris,
            "ttl": credentials.ttl,
        }
    )


routes = [
    Route("/_matrix/client/v3/voip/turnServer", get_turn_server, methods=["GET"]),
    Route("/_matrix/client/r0/voip/turnServer", get_turn_server, methods=["GET"]),
]
