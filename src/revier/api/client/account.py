"""The user's own account: whoami, password changes, deactivation, third-party IDs."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import authenticate, field, read_json_object, required, services
from revier.api.responses import json_response


async def get_token_owner(request: Request) -> Response:
    """GET /_matrix/client/v3/account/whoami"""
    requester = await authenticate(request)
    return json_response(
        {
            "user_id": requester.user_id,
            "device_id": requester.device_id,
            "is_guest": requester.is_guest,
        }
    )


async def get_threepids(request: Request) -> Response:
    """GET /_matrix/client/v3/account/3pid: revier binds no e-mail addresses or phone
    numbers to accounts (the organisation's directory holds them), so the list is
    empty — Element's settings page reads it; adding one is refused by
    ``m.3pid_changes`` in /capabilities."""
    await authenticate(request)
    return json_response({"threepids": []})


async def change_password(request: Request) -> Response:
    """POST /_matrix/client/v3/account/password"""
    requester = await authenticate(request)
    body = await read_json_object(request)
    new_password = required(body, "new_password", str)
    logout_devices = field(body, "logout_devices", bool, required=False)
    await services(request).accounts.change_password(
        requester,
        new_password,
        logout_devices=True if logout_devices is None else logout_devices,
        auth=body.get("auth"),
    )
    return json_response({})


async def deactivate_account(request: Request) -> Response:
    """POST /_matrix/client/v3/account/deactivate

    Only where the tenant allows it (``allow_self_deactivation``), behind the
    password. revier keeps no third-party identifiers, so there is nothing to
    unbind: the spec then requires ``success``."""
    requester = await authenticate(request)
    body = await read_json_object(request)
    erase = field(body, "erase", bool, required=False) or False
    await services(request).deactivation.deactivate_own(
        requester, auth=body.get("auth"), erase=erase
    )
    return json_response({"id_server_unbind_result": "success"})


routes = [
    Route("/_matrix/client/v3/account/3pid", get_threepids, methods=["GET"]),
    Route("/_matrix/client/r0/account/3pid", get_threepids, methods=["GET"]),
    Route("/_matrix/client/v3/account/deactivate", deactivate_account, methods=["POST"]),
    Route("/_matrix/client/r0/account/deactivate", deactivate_account, methods=["POST"]),
    Route("/_matrix/client/v3/account/whoami", get_token_owner, methods=["GET"]),
    Route("/_matrix/client/r0/account/whoami", get_token_owner, methods=["GET"]),
    Route("/_matrix/client/v3/account/password", change_password, methods=["POST"]),
]
