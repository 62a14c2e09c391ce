"""Simplified sliding sync (MSC4186): the sync Element X speaks."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.client.sync import set_presence_of
from revier.api.hangup import hangup_of
from revier.api.http import authenticate, query_int, read_json_object, services
from revier.api.responses import json_response
from revier.services.sync import parse_request

PATH = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync"


async def sliding_sync(request: Request) -> Response:
    """POST /_matrix/client/unstable/org.matrix.simplified_msc3575/sync"""
    requester = await authenticate(request)
    svc = services(request)
    svc.client_versions.require(requester.tenant, request.headers.get("user-agent"))
    body = parse_request(await read_json_object(request))
    timeout_ms = query_int(request, "timeout", 0)
    pos, hangup = request.query_params.get("pos"), hangup_of(request)
    # Before the read, so the user's own change is in this very response.
    await svc.presence.on_sync(requester, set_presence_of(request))
    # Not kept through the long-poll: the Request with its parsed query and
    # headers is ~0.7 KiB more per waiting client.
    del request
    result = await svc.sliding_sync.sync(requester, body, pos, timeout_ms, hangup)
    return json_response(result)


routes = [Route(PATH, sliding_sync, methods=["POST"])]
