"""Device management (spec: "Device Management")."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import authenticate, field, read_json_object, required, services
from revier.api.responses import json_response
from revier.errors import BadJson
from revier.services.core import Device


def _device_json(device: Device) -> dict[str, Any]:
    out: dict[str, Any] = {"device_id": device.device_id}
    if device.display_name is not None:
        out["display_name"] = device.display_name
    if device.last_seen_ts is not None:
        out["last_seen_ts"] = device.last_seen_ts
    if device.last_seen_ip is not None:
        out["last_seen_ip"] = device.last_seen_ip
    return out


async def get_devices(request: Request) -> Response:
    """GET /_matrix/client/v3/devices"""
    requester = await authenticate(request)
    devices = await services(request).devices.list_devices(requester)
    return json_response({"devices": [_device_json(d) for d in devices]})


async def get_device(request: Request) -> Response:
    """GET /_matrix/client/v3/devices/{deviceId}"""
    requester = await authenticate(request)
    device = await services(request).devices.get_device(requester, request.path_params["deviceId"])
    return json_response(_device_json(device))


async def update_device(request: Request) -> Response:
    """PUT /_matrix/client/v3/devices/{deviceId}"""
    requester = await authenticate(request)
    body = await read_json_object(request)
    display_name = field(body, "display_name", str, required=False)
    svc = services(request).devices
    device_id = request.path_params["deviceId"]
    if display_name is None:
        await svc.require_existing(requester, device_id)
    else:
        await svc.update_device(requester, device_id, display_name)
    return json_response({})


async def delete_device(request: Request) -> Response:
    """DELETE /_matrix/client/v3/devices/{deviceId}"""
    requester = await authenticate(request)
    body = await read_json_object(request, allow_empty=True)
    svc = services(request).devices
    device_id = request.path_params["deviceId"]
    await svc.require_existing(requester, device_id)
    await svc.delete_devices(requester, [device_id], body.get("auth"))
    return json_response({})


async def delete_devices(request: Request) -> Response:
    """POST /_matrix/client/v3/delete_devices"""
    requester = await authenticate(request)
    body = await read_json_object(request)
    device_ids = required(body, "devices", list)
    if not all(isinstance(d, str) for d in device_ids):
        raise BadJson("'devices' must be a list of device IDs")
    await services(request).devices.delete_devices(requester, device_ids, body.get("auth"))
    return json_response({})


routes = [
    Route("/_matrix/client/v3/devices", get_devices, methods=["GET"]),
    Route("/_matrix/client/v3/devices/{deviceId}", get_device, methods=["GET"]),
    Route("/_matrix/client/v3/devices/{deviceId}", update_device, methods=["PUT"]),
    Route("/_matrix/client/v3/devices/{deviceId}", delete_device, methods=["DELETE"]),
    Route("/_matrix/client/v3/delete_devices", delete_devices, methods=["POST"]),
]
