"""Server-side search (spec: "Server Side Search"): POST /search."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import authenticate, read_json_object, services
from revier.api.responses import json_response
from revier.services.rooms import parse_search

V3 = "/_matrix/client/v3"


async def search(request: Request) -> Response:
    """POST /_matrix/client/v3/search"""
    requester = await authenticate(request)
    query = parse_search(await read_json_object(request))
    body = await services(request).search.search(
        requester, query, request.query_params.get("next_batch")
    )
    return json_response(body)


routes = [Route(f"{V3}/search", search, methods=["POST"])]
