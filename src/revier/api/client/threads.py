"""The thread roots of a room (spec: "Threading", "Querying threads in a room")."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import authenticate, query_int, services
from revier.api.responses import json_response
from revier.errors import InvalidParam

V1 = "/_matrix/client/v1"


async def get_thread_roots(request: Request) -> Response:
    """GET /_matrix/client/v1/rooms/{roomId}/threads"""
    requester = await authenticate(request)
    q = request.query_params
    include = q.get("include", "all")
    if include not in ("all", "participated"):
        raise InvalidParam("'include' must be 'all' or 'participated'")
    body = await services(request).relations.threads(
        requester,
        request.path_params["roomId"],
        participated=include == "participated",
        from_token=q.get("from"),
        limit=query_int(request, "limit", 5, minimum=1),
    )
    return json_response(body)


routes = [Route(f"{V1}/rooms/{{roomId}}/threads", get_thread_roots, methods=["GET"])]
