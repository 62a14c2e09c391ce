"""SCIM 2.0 ``/Groups``: each group a unit, its members the unit's members
(their rooms follow). Create, get, list (``filter=displayName eq "…"``),
replace, patch (members added and removed, renamed), delete."""

from __future__ import annotations

from typing import Any

from scim2_models import Context, Group, GroupMember, Meta, PatchOp
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import services
from revier.api.scim.base import (
    BASE,
    endpoint,
    eq_filter,
    list_response,
    location,
    page_params,
    path_id,
    read_scim_json,
    scim_response,
)
from revier.services.core import Tenant
from revier.services.org import ScimError, ScimGroup


def group_json(request: Request, group: ScimGroup) -> dict[str, Any]:
    model: Group = Group(
        id=group.scim_id,
        display_name=group.name,
        members=[GroupMember(value=sid, display=uid, type="User") for sid, uid in group.members]
        or None,
        meta=Meta(resource_type="Group", location=location(request, "Groups", group.scim_id)),
    )
    return model.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def _fields(group: Group) -> tuple[str, list[str]]:
    if not group.display_name or not group.display_name.strip():
        raise ScimError(400, "displayName is required", "invalidValue")
    members = [m.value for m in group.members or [] if m.value]
    return group.display_name, members


@endpoint
async def create_group(request: Request, tenant: Tenant) -> Response:
    """POST /Groups"""
    group = Group.model_validate(
        await read_scim_json(request), scim_ctx=Context.RESOURCE_CREATION_REQUEST
    )
    name, members = _fields(group)
    created = await services(request).org_directory.scim_groups.create(
        tenant, name=name, members=members
    )
    reply = group_json(request, created)
    return scim_response(reply, 201, Location=reply["meta"]["location"])


@endpoint
async def get_group(request: Request, tenant: Tenant) -> Response:
    """GET /Groups/{id}"""
    group = await services(request).org_directory.scim_groups.get(tenant, path_id(request))
    return scim_response(group_json(request, group))


@endpoint
async def list_groups(request: Request, tenant: Tenant) -> Response:
    """GET /Groups[?filter=displayName eq "x"]"""
    name = eq_filter(request, "displayName")
    start, count = page_params(request)
    total, groups = await services(request).org_directory.scim_groups.search(
        tenant, name=name, start_index=start, count=count
    )
    found = [group_json(request, one) for one in groups]
    return list_response(Group, total, start, found)


@endpoint
async def replace_group(request: Request, tenant: Tenant) -> Response:
    """PUT /Groups/{id}"""
    scim_id = path_id(request)
    group = Group.model_validate(
        await read_scim_json(request), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST
    )
    name, members = _fields(group)
    replaced = await services(request).org_directory.scim_groups.replace(
        tenant, scim_id, name=name, members=members
    )
    return scim_response(group_json(request, replaced))


@endpoint
async def patch_group(request: Request, tenant: Tenant) -> Response:
    """PATCH /Groups/{id}"""
    scim_id = path_id(request)
    patch = PatchOp[Group].model_validate(
        await read_scim_json(request), scim_ctx=Context.RESOURCE_PATCH_REQUEST
    )
    svc = services(request).org_directory.scim_groups
    current = Group.model_validate(
        group_json(request, await svc.get(tenant, scim_id)),
        scim_ctx=Context.RESOURCE_QUERY_RESPONSE,
    )
    patch.patch(current)
    name, members = _fields(current)
    replaced = await svc.replace(tenant, scim_id, name=name, members=members)
    return scim_response(group_json(request, replaced))


@endpoint
async def delete_group(request: Request, tenant: Tenant) -> Response:
    """DELETE /Groups/{id}: the unit is deleted; its members leave its rooms."""
    await services(request).org_directory.scim_groups.delete(tenant, path_id(request))
    return scim_response(None, 204)


routes = [
    Route(BASE + "/Groups", create_group, methods=["POST"]),
    Route(BASE + "/Groups", list_groups, methods=["GET"]),
    Route(BASE + "/Groups/{id}", get_group, methods=["GET"]),
    Route(BASE + "/Groups/{id}", replace_group, methods=["PUT"]),
    Route(BASE + "/Groups/{id}", patch_group, methods=["PATCH"]),
    Route(BASE + "/Groups/{id}", delete_group, methods=["DELETE"]),
]
