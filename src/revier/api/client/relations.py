"""Child events of an event (spec: "Relationships API"), in all three forms."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import authenticate, query_int, services
from revier.api.responses import json_response
from revier.errors import InvalidParam
from revier.services.rooms import RelationsQuery

V1 = "/_matrix/client/v1"


async def get_relating_events(request: Request) -> Response:
    """GET /_matrix/client/v1/rooms/{roomId}/relations/{eventId}[/{relType}[/{eventType}]]

    One handler for getRelatingEvents, getRelatingEventsWithRelType and
    getRelatingEventsWithRelTypeAndEventType: they differ by the path's filters.
    """
    requester = await authenticate(request)
    p = request.path_params
    q = request.query_params
    direction = q.get("dir", "b")
    if direction not in ("b", "f"):
        raise InvalidParam("'dir' must be 'b' or 'f'")
    query = RelationsQuery(
        rel_type=p.get("relType"),
        event_type=p.get("eventType"),
        from_token=q.get("from"),
        to_token=q.get("to"),
        limit=query_int(request, "limit", 5),
        direction="b" if direction == "b" else "f",
        recurse=_boolean(q.get("recurse"), "recurse"),
    )
    body = await services(request).relations.relations(requester, p["roomId"], p["eventId"], query)
    return json_response(body)


def _boolean(value: str | None, name: str) -> bool | None:
    if value is None:
        return None
    if value not in ("true", "false"):
        raise InvalidParam(f"'{name}' must be true or false")
    return value == "true"


_BASE = f"{V1}/rooms/{{roomId}}/relations/{{eventId}}"

routes = [
    Route(_BASE, get_relating_events, methods=["GET"]),
    Route(f"{_BASE}/{{relType}}", get_relating_events, methods=["GET"]),
    Route(f"{_BASE}/{{relType}}/{{eventType}}", get_relating_events, methods=["GET"]),
]
