"""The spec's server administration endpoints (spec "Server administration",
"Account moderation"): who-is, locking and suspending accounts.

A "server admin" here is an admin of the tenant (the same flag as for the
admin API, set with ``PUT /_revier/admin/v1/users/{userId}/admin`` or
``revier admin user make-admin``). Authorisation is checked before any lookup
(spec: no user enumeration), so an ordinary user gets 403 for any user ID.

Who-is shows the user's devices and when each was last used. The address a
device was last seen from is shown to the user themselves only: for admins it
is personal data revier keeps out of every admin view (CWE-359); the audit log
holds addresses where they matter, and pseudonymises them after the tenant's
period — who-is must not be a way around that.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import authenticate, read_json_object, required, services
from revier.api.responses import json_response
from revier.errors import Forbidden, InvalidParam
from revier.events.identifiers import server_name_of
from revier.services.core import Actor, Device, Requester


async def _admin_and_target(request: Request) -> tuple[Requester, str]:
    requester = await authenticate(request)
    if not requester.is_admin:
        raise Forbidden("Requesting user is not a server administrator")
    user_id: str = request.path_params["userId"]
    if server_name_of(user_id) != requester.tenant.server_name:
        raise InvalidParam("User does not belong to the local server")
    return requester, user_id


async def get_admin_lock_user(request: Request) -> Response:
    """GET /_matrix/client/v1/admin/lock/{userId}"""
    requester, user_id = await _admin_and_target(request)
    state = await services(request).moderation.state(requester.tenant, user_id, admins_too=False)
    return json_response({"locked": state.locked})


async def set_admin_lock_user(request: Request) -> Response:
    """PUT /_matrix/client/v1/admin/lock/{userId}"""
    requester, user_id = await _admin_and_target(request)
    locked = required(await read_json_object(request), "locked", bool)
    await services(request).moderation.set_locked(
        requester.tenant, user_id, locked, Actor.of(requester)
    )
    return json_response({"locked": locked})


async def get_admin_suspend_user(request: Request) -> Response:
    """GET /_matrix/client/v1/admin/suspend/{userId}"""
    requester, user_id = await _admin_and_target(request)
    state = await services(request).moderation.state(requester.tenant, user_id, admins_too=False)
    return json_response({"suspended": state.suspended})


async def set_admin_suspend_user(request: Request) -> Response:
    """PUT /_matrix/client/v1/admin/suspend/{userId}"""
    requester, user_id = await _admin_and_target(request)
    suspended = required(await read_json_object(request), "suspended", bool)
    await services(request).moderation.set_suspended(
        requester.tenant, user_id, suspended, Actor.of(requester)
    )
    return json_response({"suspended": suspended})


async def get_who_is(request: Request) -> Response:
    """GET /_matrix/client/v3/admin/whois/{userId}"""
    requester = await authenticate(request)
    user_id: str = request.path_params["userId"]
    owned, with_addresses = await services(request).moderation.whois(requester, user_id)
    return json_response(
        {
            "user_id": user_id,
            "devices": {d.device_id: _device_info(d, with_addresses) for d in owned},
        }
    )


def _device_info(device: Device, with_address: bool) -> dict[str, Any]:
    """One session per device (a device has one access token at a time)."""
    if device.last_seen_ts is None:
        return {"sessions": [{"connections": []}]}
    connection: dict[str, Any] = {"last_seen": device.last_seen_ts}
    if with_address and device.last_seen_ip:
        connection["ip"] = device.last_seen_ip
    return {"sessions": [{"connections": [connection]}]}


routes = [
    Route("/_matrix/client/v3/admin/whois/{userId}", get_who_is, methods=["GET"]),
    Route("/_matrix/client/r0/admin/whois/{userId}", get_who_is, methods=["GET"]),
    Route("/_matrix/client/v1/admin/lock/{userId}", get_admin_lock_user, methods=["GET"]),
    Route("/_matrix/client/v1/admin/lock/{userId}", set_admin_lock_user, methods=["PUT"]),
    Route("/_matrix/client/v1/admin/suspend/{userId}", get_admin_suspend_user, methods=["GET"]),
    Route("/_matrix/client/v1/admin/suspend/{userId}", set_admin_suspend_user, methods=["PUT"]),
]
