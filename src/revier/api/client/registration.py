"""Account registration: closed by default; with a token or as a guest when the
tenant's policy allows it (services/registration.py decides)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import (
    client_address,
    field,
    optional_str,
    read_json_object,
    services,
    tenant,
)
from revier.api.responses import json_response
from revier.errors import InvalidParam, MissingParam
from revier.services.accounts import RegisterRequest


async def register(request: Request) -> Response:
    """POST /_matrix/client/v3/register"""
    kind = request.query_params.get("kind", "user")
    if kind not in ("user", "guest"):
        raise InvalidParam("'kind' must be 'user' or 'guest'")
    body = await read_json_object(request, allow_empty=True)
    registration = services(request).registration
    if kind == "guest":
        # Spec: everything but initial_device_display_name is ignored for guests.
        name = body.get("initial_device_display_name")
        return json_response(
            await registration.register_guest(
                tenant(request),
                name if isinstance(name, str) else None,
                address=client_address(request),
            )
        )
    inhibit_login = field(body, "inhibit_login", bool, required=False)
    req = RegisterRequest(
        username=optional_str(body, "username"),
        password=optional_str(body, "password"),
        device_id=optional_str(body, "device_id"),
        initial_device_display_name=optional_str(body, "initial_device_display_name"),
        inhibit_login=bool(inhibit_login),
        auth=body.get("auth"),
        guest_access_token=optional_str(body, "guest_access_token"),
        refresh_token=bool(field(body, "refresh_token", bool, required=False)),
    )
    result = await registration.register_user(tenant(request), req, address=client_address(request))
    return json_response(result)


async def check_username_availability(request: Request) -> Response:
    """GET /_matrix/client/v3/register/available"""
    username = request.query_params.get("username")
    if not username:
        raise MissingParam("'username' is required")
    await services(request).registration.check_available(
        tenant(request), username, address=client_address(request)
    )
    return json_response({"available": True})


async def registration_token_validity(request: Request) -> Response:
    """GET /_matrix/client/v1/register/m.login.registration_token/validity"""
    token = request.query_params.get("token")
    if token is None:
        raise MissingParam("'token' is required")
    valid = await services(request).registration.token_validity(
        tenant(request), token, address=client_address(request)
    )
    return json_response({"valid": valid})


routes = [
    Route("/_matrix/client/v3/register", register, methods=["POST"]),
    Route("/_matrix/client/r0/register", register, methods=["POST"]),
    Route("/_matrix/client/v3/register/available", check_username_availability, methods=["GET"]),
    Route(
        "/_matrix/client/v1/register/m.login.registration_token/validity",
        registration_token_validity,
        methods=["GET"],
    ),
]
