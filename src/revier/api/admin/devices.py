"""A user's devices, for the organisation's admins: list, remote wipe, device limit.

No IP addresses: an admin needs to know which devices exist and when they
were last used to decide what to wipe, not where their owner was.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.admin.base import int_or_null, require_admin
from revier.api.http import read_json_object, services
from revier.api.responses import json_response
from revier.errors import MissingParam
from revier.services.core import Actor, Device

USERS = "/_revier/admin/v1/users/{userId}"


def device_json(device: Device) -> dict[str, Any]:
    return {
        "device_id": device.device_id,
        "display_name": device.display_name,
        "last_seen_ts": device.last_seen_ts,
    }


async def list_user_devices(request: Request) -> Response:
    """GET /_revier/admin/v1/users/{userId}/devices"""
    requester = await require_admin(request)
    devices = await services(request).device_admin.list_devices(
        requester.tenant, request.path_params["userId"]
    )
    return json_response({"devices": [device_json(d) for d in devices]})


async def wipe_user_device(request: Request) -> Response:
    """DELETE /_revier/admin/v1/users/{userId}/devices/{deviceId}"""
    requester = await require_admin(request)
    p = request.path_params
    wiped = await services(request).device_admin.wipe(
        requester.tenant, Actor.of(requester), p["userId"], [p["deviceId"]]
    )
    return json_response({"wiped": [d.device_id for d in wiped]})


async def wipe_user_devices(request: Request) -> Response:
    """DELETE /_revier/admin/v1/users/{userId}/devices"""
    requester = await require_admin(request)
    wiped = await services(request).device_admin.wipe(
        requester.tenant,
        Actor.of(requester),
        request.path_params["userId"],
        None,
        details={"all_devices": True},
    )
    return json_response({"wiped": [d.device_id for d in wiped]})


async def set_max_devices(request: Request) -> Response:
    """PUT /_revier/admin/v1/users/{userId}/max_devices"""
    requester = await require_admin(request)
    body = await read_json_object(request)
    if "max_devices" not in body:
        raise MissingParam("'max_devices' is required (an integer, or null for the default)")
    value = int_or_null(body, "max_devices")
    limit = await services(request).device_admin.set_max_devices(
        requester.tenant, Actor.of(requester), request.path_params["userId"], value
    )
    return json_response(
        {
            "max_devices": limit.max_devices,
            "effective_max_devices": limit.effective,
            "device_count": limit.device_count,
        }
    )


routes = [
    Route(f"{USERS}/devices", list_user_devices, methods=["GET"]),
    Route(f"{USERS}/devices", wipe_user_devices, methods=["DELETE"]),
    Route(f"{USERS}/devices/{{deviceId}}", wipe_user_device, methods=["DELETE"]),
    Route(f"{USERS}/max_devices", set_max_devices, methods=["PUT"]),
]
