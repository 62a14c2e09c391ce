"""/sync and filters (spec: "Syncing", "Filtering")."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.hangup import hangup_of
from revier.api.http import authenticate, query_bool, query_int, read_json_object, services
from revier.api.responses import json_response
from revier.errors import InvalidParam
from revier.services.core import SyncToken
from revier.services.sync import PRESENCE_STATES, Presence, SyncRequest

V3 = "/_matrix/client/v3"


async def sync(request: Request) -> Response:
    """GET /_matrix/client/v3/sync"""
    requester = await authenticate(request)
    svc = services(request)
    svc.client_versions.require(requester.tenant, request.headers.get("user-agent"))
    since = request.query_params.get("since")
    flt = await svc.filters.for_sync(requester, request.query_params.get("filter"))
    sync_request = SyncRequest(
        since=SyncToken.parse(since) if since else None,
        timeout_ms=query_int(request, "timeout", 0),
        filter=flt,
        full_state=query_bool(request, "full_state"),
        hangup=hangup_of(request),
    )
    # Before the read, so the user's own change is in this very response.
    await svc.presence.on_sync(requester, set_presence_of(request))
    # Not kept through the long-poll: the Request with its parsed query and
    # headers is ~0.7 KiB more per waiting client.
    del request
    body = await svc.sync.sync(requester, sync_request)
    return json_response(body)


def set_presence_of(request: Request) -> Presence:
    """The ``set_presence`` query parameter of /sync and sliding sync (default online)."""
    value = request.query_params.get("set_presence", "online")
    for state in PRESENCE_STATES:
        if value == state:
            return state
    raise InvalidParam("'set_presence' must be one of online, unavailable, offline")


async def define_filter(request: Request) -> Response:
    """POST /_matrix/client/v3/user/{userId}/filter"""
    requester = await authenticate(request)
    body = await read_json_object(request)
    filter_id = await services(request).filters.create(
        requester, request.path_params["userId"], body
    )
    return json_response({"filter_id": filter_id})


async def get_filter(request: Request) -> Response:
    """GET /_matrix/client/v3/user/{userId}/filter/{filterId}"""
    requester = await authenticate(request)
    p = request.path_params
    return json_response(await services(request).filters.get(requester, p["userId"], p["filterId"]))


routes = [
    Route(f"{V3}/sync", sync, methods=["GET"]),
    Route(f"{V3}/user/{{userId}}/filter", define_filter, methods=["POST"]),
    Route(f"{V3}/user/{{userId}}/filter/{{filterId}}", get_filter, methods=["GET"]),
]
