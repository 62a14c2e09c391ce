"""Push for the organisation's admins: a user's pushers (never a whole pushkey),
and duty hours — a user's, and the tenant's default."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.admin.base import require_admin
from revier.api.http import read_json_object, services
from revier.api.responses import json_response
from revier.errors import InvalidParam, MissingParam
from revier.services.core import Actor
from revier.services.notifications import DutyView, PusherSummary

V1 = "/_revier/admin/v1"
USER = f"{V1}/users/{{userId}}"


def pusher_json(p: PusherSummary) -> dict[str, Any]:
    return {
        "pusher_id": p.pusher_id,
        "device_id": p.device_id,
        "app_id": p.app_id,
        "app_display_name": p.app_display_name,
        "device_display_name": p.device_display_name,
        "gateway": p.gateway,
        "pushkey_end": p.pushkey_end,
        "pushkey_ts": p.pushkey_ts,
        "last_success_ts": p.last_success_ts,
        "last_failure_ts": p.last_failure_ts,
        "failing_since": p.failing_since,
    }


def duty_json(view: DutyView, time_zone: str) -> dict[str, Any]:
    return {
        "schedule": view.schedule,
        "switch": view.switch,
        "default_schedule": view.default_schedule,
        "own": view.own,
        "time_zone": time_zone,
        "on_duty": view.on_duty,
        "next_change_ts": view.next_change_ts,
    }


async def list_user_pushers(request: Request) -> Response:
    """GET /_revier/admin/v1/users/{userId}/pushers"""
    requester = await require_admin(request)
    found = await services(request).pushers.of_user(requester.tenant, request.path_params["userId"])
    return json_response({"pushers": [pusher_json(p) for p in found]})


async def delete_user_pusher(request: Request) -> Response:
    """DELETE /_revier/admin/v1/users/{userId}/pushers/{pusherId}"""
    requester = await require_admin(request)
    raw = request.path_params["pusherId"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise InvalidParam("'pusherId' is the pusher_id of a pusher in the list")
    await services(request).pushers.remove(
        requester.tenant, Actor.of(requester), request.path_params["userId"], int(raw)
    )
    return json_response({})


async def get_duty_hours(request: Request) -> Response:
    """GET /_revier/admin/v1/users/{userId}/duty_hours and /_revier/admin/v1/duty_hours"""
    requester = await require_admin(request)
    view = await services(request).duty.view(requester.tenant, request.path_params.get("userId"))
    return json_response(duty_json(view, requester.tenant.policy.time_zone))


async def put_duty_hours(request: Request) -> Response:
    """PUT /_revier/admin/v1/users/{userId}/duty_hours and /_revier/admin/v1/duty_hours"""
    requester = await require_admin(request)
    body = await read_json_object(request)
    if "schedule" not in body:
        raise MissingParam("'schedule' is required: weekdays to shifts, or null to clear")
    user_id = request.path_params.get("userId")
    duty = services(request).duty
    await duty.set_schedule(requester.tenant, Actor.of(requester), user_id, body["schedule"])
    return json_response(
        duty_json(await duty.view(requester.tenant, user_id), requester.tenant.policy.time_zone)
    )


async def delete_duty_hours(request: Request) -> Response:
    """DELETE /_revier/admin/v1/users/{userId}/duty_hours and /_revier/admin/v1/duty_hours"""
    requester = await require_admin(request)
    user_id = request.path_params.get("userId")
    await services(request).duty.set_schedule(requester.tenant, Actor.of(requester), user_id, None)
    return json_response({})


async def put_duty_switch(request: Request) -> Response:
    """PUT /_revier/admin/v1/users/{userId}/duty_hours/switch"""
    requester = await require_admin(request)
    body = await read_json_object(request)
    user_id = request.path_params["userId"]
    duty = services(request).duty
    await duty.set_switch(requester.tenant, Actor.of(requester), user_id, body)
    view = await duty.view(requester.tenant, user_id)
    return json_response(duty_json(view, requester.tenant.policy.time_zone))


async def delete_duty_switch(request: Request) -> Response:
    """DELETE /_revier/admin/v1/users/{userId}/duty_hours/switch"""
    requester = await require_admin(request)
    await services(request).duty.set_switch(
        requester.tenant, Actor.of(requester), request.path_params["userId"], None
    )
    return json_response({})


routes = [
    Route(f"{USER}/pushers", list_user_pushers, methods=["GET"]),
    Route(f"{USER}/pushers/{{pusherId}}", delete_user_pusher, methods=["DELETE"]),
    Route(f"{USER}/duty_hours", get_duty_hours, methods=["GET"]),
    Route(f"{USER}/duty_hours", put_duty_hours, methods=["PUT"]),
    Route(f"{USER}/duty_hours", delete_duty_hours, methods=["DELETE"]),
    Route(f"{USER}/duty_hours/switch", put_duty_switch, methods=["PUT"]),
    Route(f"{USER}/duty_hours/switch", delete_duty_switch, methods=["DELETE"]),
    Route(f"{V1}/duty_hours", get_duty_hours, methods=["GET"]),
    Route(f"{V1}/duty_hours", put_duty_hours, methods=["PUT"]),
    Route(f"{V1}/duty_hours", delete_duty_hours, methods=["DELETE"]),
]
