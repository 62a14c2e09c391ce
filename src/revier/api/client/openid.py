"""OpenID tokens for widgets and integration managers (spec "OpenID")."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import authenticate, read_json_object, services
from revier.api.responses import json_response


async def request_openid_token(request: Request) -> Response:
    """POST /_matrix/client/v3/user/{userId}/openid/request_token"""
    requester = await authenticate(request)
    await read_json_object(request, allow_empty=True)  # the spec's body is an empty object
    issued = await services(request).short_tokens.openid_token(
        requester, request.path_params["userId"]
    )
    return json_response(
        {
            "access_token": issued.token,
            "token_type": "Bearer",
            "matrix_server_name": requester.tenant.server_name,
            "expires_in": issued.expires_in_ms // 1000,
        }
    )


routes = [
    Route(
        "/_matrix/client/v3/user/{userId}/openid/request_token",
        request_openid_token,
        methods=["POST"],
    ),
    Route(
        "/_matrix/client/r0/user/{userId}/openid/request_token",
        request_openid_token,
        methods=["POST"],
    ),
]
