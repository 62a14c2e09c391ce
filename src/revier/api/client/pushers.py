"""Push notifications (spec module "Push notifications"): pushers and /notifications."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import authenticate, query_int, read_json_object, services
from revier.api.responses import json_response
from revier.services.notifications import Pusher

V3 = "/_matrix/client/v3"


def pusher_json(pusher: Pusher) -> dict[str, object]:
    """The spec's Pusher: ``data`` as set, ``url`` included; nothing of the sender's
    state (device, position, failures) — those are the organisation's to see."""
    body: dict[str, object] = {
        "pushkey": pusher.pushkey,
        "kind": pusher.kind,
        "app_id": pusher.app_id,
        "app_display_name": pusher.app_display_name,
        "device_display_name": pusher.device_display_name,
        "lang": pusher.lang,
        "data": pusher.data,
    }
    if pusher.profile_tag is not None:
        body["profile_tag"] = pusher.profile_tag
    return body


async def get_pushers(request: Request) -> Response:
    """GET /_matrix/client/v3/pushers"""
    requester = await authenticate(request)
    pushers = await services(request).pushers.get_pushers(requester)
    return json_response({"pushers": [pusher_json(p) for p in pushers]})


async def post_pusher(request: Request) -> Response:
    """POST /_matrix/client/v3/pushers/set"""
    requester = await authenticate(request)
    body = await read_json_object(request)
    await services(request).pushers.set_pusher(requester, body)
    return json_response({})


async def get_notifications(request: Request) -> Response:
    """GET /_matrix/client/v3/notifications"""
    requester = await authenticate(request)
    q = request.query_params
    limit = query_int(request, "limit", 50, minimum=1)
    page = await services(request).notifications.notifications(
        requester, q.get("from"), limit, q.get("only")
    )
    return json_response(page)


routes = [
    Route(f"{V3}/pushers", get_pushers, methods=["GET"]),
    Route(f"{V3}/pushers/set", post_pusher, methods=["POST"]),
    Route(f"{V3}/notifications", get_notifications, methods=["GET"]),
]
