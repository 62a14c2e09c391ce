"""The organisation's rooms: list and inspect (metadata only), close, purge.

Closing is open to the tenant's admins and to a room's creator for their own
room: this endpoint is how a creator closes a room for good (clients have no
such button; leaving only takes oneself out).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.admin.base import next_token, page_params, require_admin
from revier.api.http import authenticate, optional_str, read_json_object, services
from revier.api.responses import json_response
from revier.errors import InvalidParam
from revier.services.rooms import MAX_SEARCH_LENGTH


async def list_rooms(request: Request) -> Response:
    """GET /_revier/admin/v1/rooms"""
    requester = await require_admin(request)
    offset, limit = page_params(request)
    search = request.query_params.get("search") or None
    if search is not None and len(search) > MAX_SEARCH_LENGTH:
        raise InvalidParam(f"'search' may be at most {MAX_SEARCH_LENGTH} characters")
    page = await services(request).room_admin.list_rooms(
        requester.tenant, search=search, offset=offset, limit=limit
    )
    body: dict[str, object] = {"rooms": page.rooms, "total": page.total}
    token = next_token(offset, len(page.rooms), limit)
    if token is not None and offset + len(page.rooms) < page.total:
        body["next_token"] = token
    return json_response(body)


async def get_room(request: Request) -> Response:
    """GET /_revier/admin/v1/rooms/{roomId}"""
    requester = await require_admin(request)
    room_id = _room_id(request)
    return json_response(await services(request).room_admin.get_room(requester.tenant, room_id))


async def close_room(request: Request) -> Response:
    """POST /_revier/admin/v1/rooms/{roomId}/close: answers once every member is out."""
    requester = await authenticate(request)
    body = await read_json_object(request, allow_empty=True)
    reason = optional_str(body, "reason")
    result = await services(request).room_admin.close_as(requester, _room_id(request), reason)
    return json_response(result)


async def purge_room(request: Request) -> Response:
    """DELETE /_revier/admin/v1/rooms/{roomId}: answers once the data is gone."""
    requester = await require_admin(request)
    result = await services(request).room_admin.purge_as(requester, _room_id(request))
    return json_response(result)


def _room_id(request: Request) -> str:
    room_id: str = request.path_params["roomId"]
    # Only room IDs here: an alias would name a different room once it moves.
    if not room_id.startswith("!") or "\x00" in room_id or len(room_id) > 255:
        raise InvalidParam("Expected a room ID (!…)")
    return room_id


routes = [
    Route("/_revier/admin/v1/rooms", list_rooms, methods=["GET"]),
    Route("/_revier/admin/v1/rooms/{roomId}", get_room, methods=["GET"]),
    Route("/_revier/admin/v1/rooms/{roomId}", purge_room, methods=["DELETE"]),
    Route("/_revier/admin/v1/rooms/{roomId}/close", close_room, methods=["POST"]),
]
