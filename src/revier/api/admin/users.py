"""The organisation's accounts, for its admins: list, create, show, deactivate,
reactivate, reset a password, grant or take admin rights, lock and suspend
(a lock is shown and lifted, with the lockout's failures, in ``signin.py``).

What an admin sees of an account is what they need to manage it: names,
flags, devices and when they were last used, how many rooms it is in. Never
message content, never the addresses it connected from.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.admin.base import next_token, page_params, require_admin
from revier.api.admin.devices import device_json
from revier.api.http import (
    field,
    optional_str,
    query_bool,
    read_json_object,
    required,
    services,
)
from revier.api.responses import json_response
from revier.errors import InvalidParam, MissingParam
from revier.services.core import Actor, Tenant, User, generate_password

USERS = "/_revier/admin/v1/users"
USER = USERS + "/{userId}"
# Search text longer than any user ID or display name can't match anything.
_MAX_SEARCH = 255


def _summary(user: User) -> dict[str, Any]:
    return {
        "user_id": user.user_id,
        "displayname": user.displayname,
        "admin": user.is_admin,
        "deactivated": user.deactivated,
        "guest": user.is_guest,
        "created_ts": user.created_ts,
    }


def _target(request: Request) -> str:
    """The path's user ID (the services answer "not found" for anything that is
    no user of the admin's tenant, a malformed ID included)."""
    user_id: str = request.path_params["userId"]
    return user_id


def _new_password(body: dict[str, Any], tenant: Tenant, user_id: str) -> tuple[str, bool]:
    """The body's ``password``, or a generated one with ``generate_password: true``;
    and whether it was generated (then it is returned once, and never again)."""
    password = optional_str(body, "password")
    generate = field(body, "generate_password", bool, required=False)
    if password is not None and generate:
        raise InvalidParam("Give either 'password' or 'generate_password', not both")
    if password is not None:
        return password, False
    if not generate:
        raise MissingParam("'password' is required (or 'generate_password': true)")
    localpart = user_id[1:].partition(":")[0]  # a generated password must not contain it
    return generate_password(tenant.policy, localpart), True


def _with_password(reply: dict[str, Any], password: str, generated: bool) -> dict[str, Any]:
    """A generated password goes into the reply, the only time it is shown."""
    return {**reply, "password": password} if generated else reply


async def list_users(request: Request) -> Response:
    """GET /_revier/admin/v1/users"""
    requester = await require_admin(request)
    offset, limit = page_params(request)
    search = request.query_params.get("search") or None
    if search is not None and ("\x00" in search or len(search) > _MAX_SEARCH):
        raise InvalidParam(f"'search' must be at most {_MAX_SEARCH} characters, without NUL")
    deactivated = (
        query_bool(request, "deactivated") if "deactivated" in request.query_params else None
    )
    users = await services(request).accounts.list_users(
        requester.tenant, search=search, deactivated=deactivated, limit=limit, offset=offset
    )
    body: dict[str, Any] = {"users": [_summary(u) for u in users]}
    if (token := next_token(offset, len(users), limit)) is not None:
        body["next_token"] = token
    return json_response(body)


async def create_user(request: Request) -> Response:
    """POST /_revier/admin/v1/users"""
    requester = await require_admin(request)
    body = await read_json_object(request)
    localpart = required(body, "localpart", str)
    password, generated = _new_password(
        body, requester.tenant, requester.tenant.user_id(localpart.lower())
    )
    user = await services(request).accounts.create_user(
        requester.tenant,
        localpart,
        password,
        admin=field(body, "admin", bool, required=False) or False,
        displayname=optional_str(body, "displayname"),
        actor=Actor.of(requester),
    )
    return json_response(_with_password({"user_id": user.user_id}, password, generated), status=201)


async def get_user(request: Request) -> Response:
    """GET /_revier/admin/v1/users/{userId}"""
    requester = await require_admin(request)
    svc = services(request)
    user_id = _target(request)
    details = await svc.accounts.details(requester.tenant, user_id)
    user = details.user
    return json_response(
        {
            **_summary(user),
            "avatar_url": user.avatar_url,
            "deactivation_pending": await svc.deactivation.is_pending(user_id),
            "locked": user.locked,
            "suspended": user.suspended,
            "max_devices": user.max_devices,
            "device_limit": details.device_limit,
            "devices": [device_json(d) for d in details.devices],
            "joined_rooms_count": details.joined_rooms_count,
        }
    )


async def deactivate_user(request: Request) -> Response:
    """POST /_revier/admin/v1/users/{userId}/deactivate"""
    requester = await require_admin(request)
    await read_json_object(request, allow_empty=True)
    user_id = _target(request)
    rooms_left = await services(request).deactivation.deactivate(
        requester.tenant, user_id, Actor.of(requester)
    )
    return json_response({"user_id": user_id, "rooms_left": rooms_left})


async def reactivate_user(request: Request) -> Response:
    """POST /_revier/admin/v1/users/{userId}/reactivate"""
    requester = await require_admin(request)
    body = await read_json_object(request)
    svc = services(request)
    user_id = _target(request)
    password, generated = _new_password(body, requester.tenant, user_id)
    await svc.deactivation.reactivate(requester.tenant, user_id, password, Actor.of(requester))
    return json_response(_with_password({"user_id": user_id}, password, generated))


async def reset_password(request: Request) -> Response:
    """POST /_revier/admin/v1/users/{userId}/password"""
    requester = await require_admin(request)
    body = await read_json_object(request)
    svc = services(request)
    user_id = _target(request)
    password, generated = _new_password(body, requester.tenant, user_id)
    logout_devices = field(body, "logout_devices", bool, required=False)
    removed = await svc.accounts.reset_password(
        requester.tenant,
        user_id,
        password,
        Actor.of(requester),
        logout_devices=logout_devices is not False,
    )
    reply = {"user_id": user_id, "devices_removed": removed}
    return json_response(_with_password(reply, password, generated))


async def set_admin(request: Request) -> Response:
    """PUT /_revier/admin/v1/users/{userId}/admin"""
    requester = await require_admin(request)
    body = await read_json_object(request)
    admin = required(body, "admin", bool)
    user_id = _target(request)
    await services(request).accounts.set_admin(
        requester.tenant, user_id, admin, Actor.of(requester)
    )
    return json_response({"user_id": user_id, "admin": admin})


async def set_lock(request: Request) -> Response:
    """PUT /_revier/admin/v1/users/{userId}/lock"""
    requester = await require_admin(request)
    locked = required(await read_json_object(request), "locked", bool)
    user_id = _target(request)
    await services(request).moderation.set_locked(
        requester.tenant, user_id, locked, Actor.of(requester)
    )
    return json_response({"user_id": user_id, "locked": locked})


async def get_suspension(request: Request) -> Response:
    """GET /_revier/admin/v1/users/{userId}/suspend"""
    requester = await require_admin(request)
    state = await services(request).moderation.state(requester.tenant, _target(request))
    return json_response({"user_id": state.user_id, "suspended": state.suspended})


async def set_suspension(request: Request) -> Response:
    """PUT /_revier/admin/v1/users/{userId}/suspend"""
    requester = await require_admin(request)
    suspended = required(await read_json_object(request), "suspended", bool)
    user_id = _target(request)
    await services(request).moderation.set_suspended(
        requester.tenant, user_id, suspended, Actor.of(requester)
    )
    return json_response({"user_id": user_id, "suspended": suspended})


routes = [
    Route(USERS, list_users, methods=["GET"]),
    Route(USERS, create_user, methods=["POST"]),
    Route(USER, get_user, methods=["GET"]),
    Route(USER + "/deactivate", deactivate_user, methods=["POST"]),
    Route(USER + "/reactivate", reactivate_user, methods=["POST"]),
    Route(USER + "/password", reset_password, methods=["POST"]),
    Route(USER + "/admin", set_admin, methods=["PUT"]),
    Route(USER + "/lock", set_lock, methods=["PUT"]),
    Route(USER + "/suspend", get_suspension, methods=["GET"]),
    Route(USER + "/suspend", set_suspension, methods=["PUT"]),
]
