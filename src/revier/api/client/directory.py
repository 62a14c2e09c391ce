"""Room aliases and the public room directory (spec: "Room aliases", "Room discovery")."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import (
    authenticate,
    field,
    optional_str,
    query_int,
    read_json_object,
    required,
    services,
    tenant,
    tenant_of_reader,
)
from revier.api.responses import json_response
from revier.errors import BadJson
from revier.services.core import Tenant
from revier.services.rooms import PublicRoomsQuery

V3 = "/_matrix/client/v3"


async def set_room_alias(request: Request) -> Response:
    """PUT /_matrix/client/v3/directory/room/{roomAlias}"""
    requester = await authenticate(request)
    body = await read_json_object(request)
    await services(request).directory.create_alias(
        requester, request.path_params["roomAlias"], required(body, "room_id", str)
    )
    return json_response({})


async def get_room_id_by_alias(request: Request) -> Response:
    """GET /_matrix/client/v3/directory/room/{roomAlias}"""
    requester = await authenticate(request)
    body = await services(request).directory.resolve_alias(
        requester, request.path_params["roomAlias"]
    )
    return json_response(body)


async def delete_room_alias(request: Request) -> Response:
    """DELETE /_matrix/client/v3/directory/room/{roomAlias}"""
    requester = await authenticate(request)
    await services(request).directory.delete_alias(requester, request.path_params["roomAlias"])
    return json_response({})


async def get_local_aliases(request: Request) -> Response:
    """GET /_matrix/client/v3/rooms/{roomId}/aliases"""
    requester = await authenticate(request)
    aliases = await services(request).directory.local_aliases(
        requester, request.path_params["roomId"]
    )
    return json_response({"aliases": aliases})


async def get_room_visibility_on_directory(request: Request) -> Response:
    """GET /_matrix/client/v3/directory/list/room/{roomId}"""
    requester = await authenticate(request)
    visibility = await services(request).directory.get_visibility(
        requester, request.path_params["roomId"]
    )
    return json_response({"visibility": visibility})


async def set_room_visibility_on_directory(request: Request) -> Response:
    """PUT /_matrix/client/v3/directory/list/room/{roomId}"""
    requester = await authenticate(request)
    body = await read_json_object(request)
    await services(request).directory.set_visibility(
        requester, request.path_params["roomId"], optional_str(body, "visibility") or "public"
    )
    return json_response({})


async def get_public_rooms(request: Request) -> Response:
    """GET /_matrix/client/v3/publicRooms

    The spec lets anyone list a server's directory; an organisation's is for
    its own people, so a token is required (and decides the tenant) unless the
    tenant's policy says ``public_room_directory``.
    """
    where = await _directory_tenant(request)
    q = request.query_params
    query = PublicRoomsQuery(
        limit=query_int(request, "limit", 0) or None,
        since=q.get("since"),
        server=q.get("server"),
    )
    return json_response(await services(request).directory.public_rooms(where, query))


async def query_public_rooms(request: Request) -> Response:
    """POST /_matrix/client/v3/publicRooms"""
    where = await _directory_tenant(request)
    body = await read_json_object(request, allow_empty=True)
    flt = field(body, "filter", dict, required=False) or {}
    limit = field(body, "limit", int, required=False)
    # include_all_networks / third_party_instance_id: no bridges, one network.
    field(body, "include_all_networks", bool, required=False)
    optional_str(body, "third_party_instance_id")
    query = PublicRoomsQuery(
        limit=limit if limit and limit > 0 else None,
        since=optional_str(body, "since"),
        server=request.query_params.get("server"),
        search_term=optional_str(flt, "generic_search_term"),
        room_types=_room_types(flt.get("room_types")),
    )
    return json_response(await services(request).directory.public_rooms(where, query))


async def _directory_tenant(request: Request) -> Tenant:
    public = tenant(request).policy.public_room_directory
    return await tenant_of_reader(request, public=public)


def _room_types(value: Any) -> tuple[str | None, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(v is None or isinstance(v, str) for v in value):
        raise BadJson("'room_types' must be a list of strings or nulls")
    return tuple(value)


routes = [
    Route(f"{V3}/directory/room/{{roomAlias:path}}", set_room_alias, methods=["PUT"]),
    Route(f"{V3}/directory/room/{{roomAlias:path}}", get_room_id_by_alias, methods=["GET"]),
    Route(f"{V3}/directory/room/{{roomAlias:path}}", delete_room_alias, methods=["DELETE"]),
    Route(f"{V3}/rooms/{{roomId}}/aliases", get_local_aliases, methods=["GET"]),
    Route(
        f"{V3}/directory/list/room/{{roomId}}",
        get_room_visibility_on_directory,
        methods=["GET"],
    ),
    Route(
        f"{V3}/directory/list/room/{{roomId}}",
        set_room_visibility_on_directory,
        methods=["PUT"],
    ),
    Route(f"{V3}/publicRooms", get_public_rooms, methods=["GET"]),
    Route(f"{V3}/publicRooms", query_public_rooms, methods=["POST"]),
]
