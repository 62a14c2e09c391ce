"""Server-side key backups (spec: "Server-side key backups")."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import authenticate, optional_str, read_json_object, required, services
from revier.api.responses import json_response
from revier.errors import BadJson, InvalidParam, MissingParam
from revier.services.e2e import RoomKey

V3 = "/_matrix/client/v3"
_MAX_INT = 2**53 - 1


async def post_room_keys_version(request: Request) -> Response:
    """POST /_matrix/client/v3/room_keys/version"""
    requester = await authenticate(request)
    body = await read_json_object(request)
    version = await services(request).key_backup.create_version(
        requester, required(body, "algorithm", str), required(body, "auth_data", dict)
    )
    return json_response({"version": version})


async def get_room_keys_version_current(request: Request) -> Response:
    """GET /_matrix/client/v3/room_keys/version"""
    requester = await authenticate(request)
    return json_response(await services(request).key_backup.get_version(requester, None))


async def get_room_keys_version(request: Request) -> Response:
    """GET /_matrix/client/v3/room_keys/version/{version}"""
    requester = await authenticate(request)
    version = request.path_params["version"]
    return json_response(await services(request).key_backup.get_version(requester, version))


async def put_room_keys_version(request: Request) -> Response:
    """PUT /_matrix/client/v3/room_keys/version/{version}"""
    requester = await authenticate(request)
    body = await read_json_object(request)
    await services(request).key_backup.update_version(
        requester,
        request.path_params["version"],
        required(body, "algorithm", str),
        required(body, "auth_data", dict),
        optional_str(body, "version"),
    )
    return json_response({})


async def delete_room_keys_version(request: Request) -> Response:
    """DELETE /_matrix/client/v3/room_keys/version/{version}"""
    requester = await authenticate(request)
    await services(request).key_backup.delete_version(requester, request.path_params["version"])
    return json_response({})


def _version(request: Request) -> str:
    version = request.query_params.get("version")
    if version is None:
        raise MissingParam("'version' is required")
    return version


def _key_data(room_id: str, session_id: str, data: Any) -> RoomKey:
    """A KeyBackupData object."""
    if not isinstance(data, dict):
        raise BadJson(f"The key of session {session_id} must be an object")
    ints = {}
    for name in ("first_message_index", "forwarded_count"):
        value = required(data, name, int)
        if not 0 <= value <= _MAX_INT:
            raise InvalidParam(f"'{name}' is out of range")
        ints[name] = value
    return RoomKey(
        room_id,
        session_id,
        ints["first_message_index"],
        ints["forwarded_count"],
        required(data, "is_verified", bool),
        required(data, "session_data", dict),
    )


def _room_keys(room_id: str, room: Any) -> list[RoomKey]:
    """A RoomKeyBackup object: ``{"sessions": {session_id: KeyBackupData}}``."""
    if not isinstance(room, dict):
        raise BadJson(f"The keys of room {room_id} must be an object")
    sessions = required(room, "sessions", dict)
    return [_key_data(room_id, s, data) for s, data in sessions.items()]


def _key_json(key: RoomKey) -> dict[str, Any]:
    return {
        "first_message_index": key.first_message_index,
        "forwarded_count": key.forwarded_count,
        "is_verified": key.is_verified,
        "session_data": key.session_data,
    }


async def put_room_keys(request: Request) -> Response:
    """PUT /_matrix/client/v3/room_keys/keys[/{roomId}[/{sessionId}]]"""
    requester = await authenticate(request)
    version = _version(request)
    body = await read_json_object(request)
    room_id = request.path_params.get("roomId")
    session_id = request.path_params.get("sessionId")
    if room_id is not None and session_id is not None:
        keys = [_key_data(room_id, session_id, body)]
    elif room_id is not None:
        keys = _room_keys(room_id, body)
    else:
        rooms = required(body, "rooms", dict)
        keys = [k for r, room in rooms.items() for k in _room_keys(r, room)]
    result = await services(request).key_backup.put_keys(requester, version, keys)
    return json_response(result)


async def get_room_keys(request: Request) -> Response:
    """GET /_matrix/client/v3/room_keys/keys[/{roomId}[/{sessionId}]]"""
    requester = await authenticate(request)
    version = _version(request)
    room_id = request.path_params.get("roomId")
    session_id = request.path_params.get("sessionId")
    keys = await services(request).key_backup.get_keys(requester, version, room_id, session_id)
    if session_id is not None:
        return json_response(_key_json(keys[0]))
    rooms: dict[str, dict[str, Any]] = {}
    for key in keys:
        rooms.setdefault(key.room_id, {"sessions": {}})["sessions"][key.session_id] = _key_json(key)
    if room_id is not None:
        return json_response(rooms.get(room_id, {"sessions": {}}))
    return json_response({"rooms": rooms})


async def delete_room_keys(request: Request) -> Response:
    """DELETE /_matrix/client/v3/room_keys/keys[/{roomId}[/{sessionId}]]"""
    requester = await authenticate(request)
    version = _version(request)
    result = await services(request).key_backup.delete_keys(
        requester, version, request.path_params.get("roomId"), request.path_params.get("sessionId")
    )
    return json_response(result)


_KEYS_PATHS = (
    f"{V3}/room_keys/keys",
    f"{V3}/room_keys/keys/{{roomId}}",
    f"{V3}/room_keys/keys/{{roomId}}/{{sessionId}}",
)

routes = [
    Route(f"{V3}/room_keys/version", post_room_keys_version, methods=["POST"]),
    Route(f"{V3}/room_keys/version", get_room_keys_version_current, methods=["GET"]),
    Route(f"{V3}/room_keys/version/{{version}}", get_room_keys_version, methods=["GET"]),
    Route(f"{V3}/room_keys/version/{{version}}", put_room_keys_version, methods=["PUT"]),
    Route(f"{V3}/room_keys/version/{{version}}", delete_room_keys_version, methods=["DELETE"]),
    *(Route(path, get_room_keys, methods=["GET"]) for path in _KEYS_PATHS),
    *(Route(path, put_room_keys, methods=["PUT"]) for path in _KEYS_PATHS),
    *(Route(path, delete_room_keys, methods=["DELETE"]) for path in _KEYS_PATHS),
]
