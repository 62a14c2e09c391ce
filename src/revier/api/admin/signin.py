"""The help desk's part of signing in: a user's lock (the lockout's or an
admin's) shown and lifted, and their second factors listed (kinds and names,
never a secret) and reset when a phone is lost."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.admin.base import require_admin
from revier.api.http import services
from revier.api.responses import json_response
from revier.services.core import Tenant
from revier.services.signin import LockState

USER = "/_revier/admin/v1/users/{userId}"


def _target(request: Request) -> str:
    user_id: str = request.path_params["userId"]
    return user_id


def _lock_json(state: LockState) -> dict[str, object]:
    return {
        "user_id": state.user_id,
        "locked": state.locked,
        "reason": state.reason,
        "failures": state.failures,
        "locked_ts": state.locked_ts,
        "retry_after_ms": state.retry_after_ms,
    }


async def get_lock(request: Request) -> Response:
    """GET /_revier/admin/v1/users/{userId}/lock"""
    requester = await require_admin(request)
    state = await services(request).signin_attempts.state(requester.tenant, _target(request))
    return json_response(_lock_json(state))


async def unlock(request: Request) -> Response:
    """DELETE /_revier/admin/v1/users/{userId}/lock"""
    requester = await require_admin(request)
    attempts = services(request).signin_attempts
    user_id = _target(request)
    await attempts.unlock(
        requester.tenant, user_id, admin=requester.user_id, address=requester.address
    )
    return json_response(_lock_json(await attempts.state(requester.tenant, user_id)))


async def list_second_factors(request: Request) -> Response:
    """GET /_revier/admin/v1/users/{userId}/second_factors"""
    requester = await require_admin(request)
    return json_response(await _factors_json(request, requester.tenant, _target(request)))


async def reset_second_factors(request: Request) -> Response:
    """DELETE /_revier/admin/v1/users/{userId}/second_factors"""
    requester = await require_admin(request)
    user_id = _target(request)
    await services(request).second_factors.reset(
        requester.tenant, user_id, admin=requester.user_id, address=requester.address
    )
    return json_response(await _factors_json(request, requester.tenant, user_id))


async def _factors_json(request: Request, tenant: Tenant, user_id: str) -> dict[str, object]:
    factors = services(request).second_factors
    enrolled = await factors.factors(tenant, user_id)
    status = await factors.status(tenant, user_id)
    return {
        "user_id": user_id,
        "second_factors": [
            {
                "id": f.id,
                "kind": f.kind,
                "name": f.name,
                "created_ts": f.created_ts,
                "last_used_ts": f.last_used_ts,
            }
            for f in enrolled
        ],
        "recovery_codes_left": status.recovery_codes_left,
        "required": status.required,
    }


routes = [
    Route(USER + "/lock", get_lock, methods=["GET"]),
    Route(USER + "/lock", unlock, methods=["DELETE"]),
    Route(USER + "/second_factors", list_second_factors, methods=["GET"]),
    Route(USER + "/second_factors", reset_second_factors, methods=["DELETE"]),
]
