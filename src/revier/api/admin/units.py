"""The organisation's units: the tree, each unit's rooms (with a rule) and
members (with a role). Admins of the tenant only; another tenant's unit is
"not found". Room memberships follow in jobs: a few users before the answer,
a big unit's in the background (``pending_jobs`` of the unit shows them).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.admin.base import next_token, page_params, require_admin
from revier.api.http import field, read_json_object, required, services
from revier.api.responses import json_response
from revier.errors import BadJson, InvalidParam
from revier.services.core import Actor
from revier.services.org import Unit

MAX_ID_LENGTH = 255


def _unit_json(unit: Unit) -> dict[str, Any]:
    return {
        "unit_id": unit.unit_id,
        "name": unit.name,
        "external_id": unit.external_id,
        "parent_id": unit.parent_id,
        "space_room_id": unit.space_room_id,
    }


def _tree(units: list[Unit]) -> list[dict[str, Any]]:
    """Nested by parent, each level by name."""
    nodes = {u.unit_id: {**_unit_json(u), "children": []} for u in units}
    roots: list[dict[str, Any]] = []
    for unit in units:
        node = nodes[unit.unit_id]
        parent = nodes.get(unit.parent_id) if unit.parent_id else None
        (parent["children"] if parent is not None else roots).append(node)
    return roots


async def create_unit(request: Request) -> Response:
    """POST /_revier/admin/v1/units"""
    requester = await require_admin(request)
    body = await read_json_object(request)
    unit = await services(request).units.create_unit(
        requester.tenant,
        name=required(body, "name", str),
        parent_id=_opt_id(body, "parent_id"),
        external_id=field(body, "external_id", str, required=False),
        actor=Actor.of(requester),
    )
    return json_response(_unit_json(unit))


async def list_units(request: Request) -> Response:
    """GET /_revier/admin/v1/units: the whole tree."""
    requester = await require_admin(request)
    units = await services(request).units.list_units(requester.tenant)
    return json_response({"units": _tree(units), "total": len(units)})


async def get_unit(request: Request) -> Response:
    """GET /_revier/admin/v1/units/{unitId}"""
    requester = await require_admin(request)
    svc = services(request).units
    unit_id = _unit_id(request)
    unit = await svc.get(requester.tenant, unit_id)
    rooms = await svc.rooms(requester.tenant, unit_id)
    return json_response(
        {
            **_unit_json(unit),
            "rooms": [{"room_id": r, "rule": rule} for r, rule in sorted(rooms.items())],
            "member_count": await svc.member_count(requester.tenant, unit_id),
            "pending_jobs": await svc.pending_jobs(requester.tenant, unit_id),
        }
    )


async def update_unit(request: Request) -> Response:
    """PATCH /_revier/admin/v1/units/{unitId}: rename and/or move."""
    requester = await require_admin(request)
    body = await read_json_object(request)
    svc = services(request).units
    unit_id = _unit_id(request)
    if "name" not in body and "parent_id" not in body:
        raise InvalidParam("Give 'name' and/or 'parent_id'")
    actor = Actor.of(requester)
    unit = await svc.get(requester.tenant, unit_id)
    if "name" in body:
        unit = await svc.rename(requester.tenant, unit_id, required(body, "name", str), actor)
    if "parent_id" in body:
        unit = await svc.move(requester.tenant, unit_id, _opt_id(body, "parent_id"), actor)
    return json_response(_unit_json(unit))


async def delete_unit(request: Request) -> Response:
    """DELETE /_revier/admin/v1/units/{unitId}"""
    requester = await require_admin(request)
    await services(request).units.delete_unit(
        requester.tenant, _unit_id(request), actor=Actor.of(requester)
    )
    return json_response({})


async def attach_room(request: Request) -> Response:
    """POST /_revier/admin/v1/units/{unitId}/rooms"""
    requester = await require_admin(request)
    body = await read_json_object(request)
    rule = required(body, "rule", str)
    room_id = await services(request).unit_rooms.attach(
        requester.tenant,
        _unit_id(request),
        room_id=field(body, "room_id", str, required=False),
        name=field(body, "name", str, required=False),
        rule=rule,
        actor=Actor.of(requester),
    )
    return json_response({"room_id": room_id, "rule": rule})


async def detach_room(request: Request) -> Response:
    """DELETE /_revier/admin/v1/units/{unitId}/rooms/{roomId}"""
    requester = await require_admin(request)
    room_id = _path_id(request, "roomId")
    await services(request).unit_rooms.detach(
        requester.tenant, _unit_id(request), room_id, Actor.of(requester)
    )
    return json_response({})


async def list_members(request: Request) -> Response:
    """GET /_revier/admin/v1/units/{unitId}/members"""
    requester = await require_admin(request)
    offset, limit = page_params(request)
    members = await services(request).units.members(requester.tenant, _unit_id(request))
    page = members[offset : offset + limit]
    body: dict[str, Any] = {
        "members": [{"user_id": u, "role": role} for u, role in page],
        "total": len(members),
    }
    token = next_token(offset, len(page), limit)
    if token is not None and offset + len(page) < len(members):
        body["next_token"] = token
    return json_response(body)


async def add_member(request: Request) -> Response:
    """POST /_revier/admin/v1/units/{unitId}/members: one user (``user_id``,
    ``role``), or many at once (``members``: a list of them) in one job."""
    requester = await require_admin(request)
    body = await read_json_object(request)
    units = services(request).units
    if "members" in body:
        entries = required(body, "members", list)
        wanted: dict[str, str] = {}
        for entry in entries:
            if not isinstance(entry, dict):
                raise BadJson("Each of 'members' must be an object")
            wanted[_user_id(entry)] = field(entry, "role", str, required=False) or "member"
        bulk = await units.add_members(
            requester.tenant, _unit_id(request), wanted, Actor.of(requester)
        )
        return json_response(
            {"added": bulk.added, "role_changed": bulk.role_changed, "job_ids": list(bulk.job_ids)}
        )
    user_id = _user_id(body)
    role = field(body, "role", str, required=False) or "member"
    change = await units.add_member(
        requester.tenant, _unit_id(request), user_id, role, Actor.of(requester)
    )
    return json_response({"user_id": user_id, "role": role, "job_ids": list(change.job_ids)})


def _user_id(body: dict[str, Any]) -> str:
    user_id = required(body, "user_id", str)
    if len(user_id) > MAX_ID_LENGTH or "\x00" in user_id:
        raise InvalidParam("'user_id' is not a user ID")
    return user_id


async def remove_member(request: Request) -> Response:
    """DELETE /_revier/admin/v1/units/{unitId}/members/{userId}"""
    requester = await require_admin(request)
    change = await services(request).units.remove_member(
        requester.tenant, _unit_id(request), _path_id(request, "userId"), Actor.of(requester)
    )
    return json_response({"job_ids": list(change.job_ids)})


def _unit_id(request: Request) -> str:
    return _path_id(request, "unitId")


def _path_id(request: Request, name: str) -> str:
    value: str = request.path_params[name]
    if not value or len(value) > MAX_ID_LENGTH or "\x00" in value:
        raise InvalidParam(f"Malformed {name}")
    return value


def _opt_id(body: dict[str, Any], name: str) -> str | None:
    value = field(body, name, str, required=False)
    if value is not None and (len(value) > MAX_ID_LENGTH or "\x00" in value):
        raise InvalidParam(f"Malformed '{name}'")
    return value


routes = [
    Route("/_revier/admin/v1/units", list_units, methods=["GET"]),
    Route("/_revier/admin/v1/units", create_unit, methods=["POST"]),
    Route("/_revier/admin/v1/units/{unitId}", get_unit, methods=["GET"]),
    Route("/_revier/admin/v1/units/{unitId}", update_unit, methods=["PATCH"]),
    Route("/_revier/admin/v1/units/{unitId}", delete_unit, methods=["DELETE"]),
    Route("/_revier/admin/v1/units/{unitId}/rooms", attach_room, methods=["POST"]),
    Route("/_revier/admin/v1/units/{unitId}/rooms/{roomId}", detach_room, methods=["DELETE"]),
    Route("/_revier/admin/v1/units/{unitId}/members", list_members, methods=["GET"]),
    Route("/_revier/admin/v1/units/{unitId}/members", add_member, methods=["POST"]),
    Route("/_revier/admin/v1/units/{unitId}/members/{userId}", remove_member, methods=["DELETE"]),
]
