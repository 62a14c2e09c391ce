"""Login and logout (spec: "Client Authentication")."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import authenticate, client_address, field, read_json_object, services, tenant
from revier.api.responses import json_response
from revier.errors import BadJson, Forbidden, Unknown

PASSWORD = "m.login.password"


async def get_login_flows(_request: Request) -> Response:
    """GET /_matrix/client/v3/login"""
    return json_response({"flows": [{"type": PASSWORD}]})


async def login(request: Request) -> Response:
    """POST /_matrix/client/v3/login"""
    body = await read_json_object(request)
    login_type = field(body, "type", str)
    if login_type != PASSWORD:
        raise Unknown(f"Unsupported login type; this server offers {PASSWORD}")
    user = _user_from(body)
    password = field(body, "password", str)
    assert password is not None
    svc = services(request)
    result = await svc.auth.login_with_password(
        tenant(request),
        user=user,
        password=password,
        device_id=field(body, "device_id", str, required=False),
        initial_device_display_name=field(body, "initial_device_display_name", str, required=False),
        address=client_address(request),
    )
    return json_response(
        {
            "user_id": result.user_id,
            "access_token": result.access_token,
            "device_id": result.device_id,
            "well_known": {"m.homeserver": {"base_url": svc.settings.public_baseurl}},
        }
    )


def _user_from(body: dict[str, Any]) -> str:
    identifier = body.get("identifier")
    if identifier is None:
        # The deprecated top-level "user" field, still sent by older clients.
        user = field(body, "user", str)
        assert user is not None
        return user
    if not isinstance(identifier, dict):
        raise BadJson("'identifier' must be an object")
    if identifier.get("type") != "m.id.user":
        raise Forbidden("Only m.id.user identifiers are supported")
    user = identifier.get("user")
    if not isinstance(user, str) or not user:
        raise BadJson("'identifier.user' must be a non-empty string")
    return user


async def logout(request: Request) -> Response:
    """POST /_matrix/client/v3/logout"""
    # Spec "Account locking": logging out works while locked.
    requester = await authenticate(request, allow_locked=True)
    await services(request).auth.logout(requester)
    return json_response({})


async def logout_all(request: Request) -> Response:
    """POST /_matrix/client/v3/logout/all"""
    requester = await authenticate(request, allow_locked=True)
    await services(request).auth.logout_all(requester)
    return json_response({})


routes = [
    Route("/_matrix/client/v3/login", get_login_flows, methods=["GET"]),
    Route("/_matrix/client/v3/login", login, methods=["POST"]),
    Route("/_matrix/client/r0/login", get_login_flows, methods=["GET"]),
    Route("/_matrix/client/r0/login", login, methods=["POST"]),
    Route("/_matrix/client/v3/logout", logout, methods=["POST"]),
    Route("/_matrix/client/v3/logout/all", logout_all, methods=["POST"]),
]
