"""SCIM 2.0 ``/Users``: create, get, list (``filter=userName eq "…"``), replace,
patch, delete (= deactivate) — the accounts of the identity provider that
pushes, through the directory sync engine."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from scim2_models import Context, GroupMembership, Meta, PatchOp, User
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
from revier.services.org import ScimAccount, ScimError


def user_json(request: Request, account: ScimAccount) -> dict[str, Any]:
    user: User[Any] = User(
        id=account.scim_id,
        user_name=account.user_name,
        display_name=account.displayname,
        active=account.active,
        groups=[GroupMembership(value=gid, display=name) for gid, name in account.groups] or None,
        meta=Meta(
            resource_type="User",
            created=datetime.fromtimestamp(account.created_ts / 1000, UTC),
            location=location(request, "Users", account.scim_id),
        ),
    )
    return user.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def _fields(user: User[Any]) -> tuple[str, str | None, bool]:
    if not user.user_name:
        raise ScimError(400, "userName is required", "invalidValue")
    displayname = user.display_name or (user.name.formatted if user.name else None)
    return user.user_name, displayname, user.active is not False


@endpoint
async def create_user(request: Request, tenant: Tenant) -> Response:
    """POST /Users"""
    body = await read_scim_json(request)
    user: User[Any] = User.model_validate(body, scim_ctx=Context.RESOURCE_CREATION_REQUEST)
    user_name, displayname, active = _fields(user)
    account = await services(request).org_directory.scim_users.create(
        tenant, user_name=user_name, displayname=displayname, active=active
    )
    reply = user_json(request, account)
    return scim_response(reply, 201, Location=reply["meta"]["location"])


@endpoint
async def get_user(request: Request, tenant: Tenant) -> Response:
    """GET /Users/{id}"""
    account = await services(request).org_directory.scim_users.get(tenant, path_id(request))
    return scim_response(user_json(request, account))


@endpoint
async def list_users(request: Request, tenant: Tenant) -> Response:
    """GET /Users[?filter=userName eq "x"][&startIndex=1&count=100]"""
    user_name = eq_filter(request, "userName")
    start, count = page_params(request)
    total, accounts = await services(request).org_directory.scim_users.search(
        tenant, user_name=user_name, start_index=start, count=count
    )
    found = [user_json(request, one) for one in accounts]
    return list_response(User, total, start, found)


@endpoint
async def replace_user(request: Request, tenant: Tenant) -> Response:
    """PUT /Users/{id}"""
    scim_id = path_id(request)
    body = await read_scim_json(request)
    user: User[Any] = User.model_validate(body, scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
    user_name, displayname, active = _fields(user)
    account = await services(request).org_directory.scim_users.replace(
        tenant, scim_id, user_name=user_name, displayname=displayname, active=active
    )
    return scim_response(user_json(request, account))


@endpoint
async def patch_user(request: Request, tenant: Tenant) -> Response:
    """PATCH /Users/{id}: the operations applied to the current resource, then
    replaced (``active``, ``displayName``; ``userName`` can't change)."""
    scim_id = path_id(request)
    body = await read_scim_json(request)
    patch = PatchOp[User[Any]].model_validate(body, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
    svc = services(request).org_directory.scim_users
    current: User[Any] = User.model_validate(
        user_json(request, await svc.get(tenant, scim_id)),
        scim_ctx=Context.RESOURCE_QUERY_RESPONSE,
    )
    patch.patch(current)
    user_name, displayname, active = _fields(current)
    account = await svc.replace(
        tenant, scim_id, user_name=user_name, displayname=displayname, active=active
    )
    return scim_response(user_json(request, account))


@endpoint
async def delete_user(request: Request, tenant: Tenant) -> Response:
    """DELETE /Users/{id}: the account is deactivated."""
    await services(request).org_directory.scim_users.delete(tenant, path_id(request))
    return scim_response(None, 204)


routes = [
    Route(BASE + "/Users", create_user, methods=["POST"]),
    Route(BASE + "/Users", list_users, methods=["GET"]),
    Route(BASE + "/Users/{id}", get_user, methods=["GET"]),
    Route(BASE + "/Users/{id}", replace_user, methods=["PUT"]),
    Route(BASE + "/Users/{id}", patch_user, methods=["PATCH"]),
    Route(BASE + "/Users/{id}", delete_user, methods=["DELETE"]),
]
