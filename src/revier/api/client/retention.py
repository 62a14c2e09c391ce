"""The retention configuration clients may show (MSC1763, as Synapse serves it)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import authenticate, services
from revier.api.responses import json_response

PATH = "/_matrix/client/unstable/org.matrix.msc1763/retention/configuration"


async def get_retention_configuration(request: Request) -> Response:
    """GET /_matrix/client/unstable/org.matrix.msc1763/retention/configuration

    The tenant's default period for rooms without ``m.room.retention`` and the
    bounds a room's ``max_lifetime`` must keep (a room's own policy is its state).
    """
    requester = await authenticate(request)
    return json_response(services(request).retention.configuration(requester.tenant))


routes = [Route(PATH, get_retention_configuration, methods=["GET"])]
