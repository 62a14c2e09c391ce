"""Registration tokens for the help desk: list, create, show, change limits, delete.

The same operations as ``revier admin registration-token``. A token is a
secret: it is in the reply to its creation once and never again; everything
else addresses it by its public ``token_id`` (a token doesn't belong in a URL).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.admin.base import int_or_null, require_admin
from revier.api.http import field, optional_str, read_json_object, services
from revier.api.responses import json_response
from revier.services.accounts import RegistrationToken
from revier.services.core import Actor

TOKENS = "/_revier/admin/v1/registration_tokens"


async def list_registration_tokens(request: Request) -> Response:
    """GET /_revier/admin/v1/registration_tokens"""
    requester = await require_admin(request)
    svc = services(request)
    tokens = await svc.registration_tokens.list(requester.tenant)
    now = svc.clock.time_ms()
    return json_response({"registration_tokens": [_token_json(t, now) for t in tokens]})


async def create_registration_token(request: Request) -> Response:
    """POST /_revier/admin/v1/registration_tokens"""
    requester = await require_admin(request)
    body = await read_json_object(request, allow_empty=True)
    svc = services(request)
    new = await svc.registration_tokens.create(
        requester.tenant,
        Actor.of(requester),
        uses_allowed=field(body, "uses_allowed", int, required=False),
        expiry_time=field(body, "expiry_time", int, required=False),
        token=optional_str(body, "token"),
        displayname_pattern=optional_str(body, "displayname_pattern"),
        max_devices=field(body, "max_devices", int, required=False),
    )
    # The only time the token is shown: it is stored hashed.
    return json_response({**_token_json(new.info, svc.clock.time_ms()), "token": new.token})


async def get_registration_token(request: Request) -> Response:
    """GET /_revier/admin/v1/registration_tokens/{tokenId}"""
    requester = await require_admin(request)
    svc = services(request)
    info = await svc.registration_tokens.by_id(requester.tenant, request.path_params["tokenId"])
    return json_response(_token_json(info, svc.clock.time_ms()))


async def update_registration_token(request: Request) -> Response:
    """PUT /_revier/admin/v1/registration_tokens/{tokenId}

    A field that is absent stays as it is; null means unlimited / never expires.
    """
    requester = await require_admin(request)
    body = await read_json_object(request)
    svc = services(request)
    token_id = request.path_params["tokenId"]
    current = await svc.registration_tokens.by_id(requester.tenant, token_id)
    uses = current.uses_allowed
    if "uses_allowed" in body:
        uses = int_or_null(body, "uses_allowed")
    expiry = current.expiry_time
    if "expiry_time" in body:
        expiry = int_or_null(body, "expiry_time")
    info = await svc.registration_tokens.update(
        requester.tenant, Actor.of(requester), token_id, uses_allowed=uses, expiry_time=expiry
    )
    return json_response(_token_json(info, svc.clock.time_ms()))


async def delete_registration_token(request: Request) -> Response:
    """DELETE /_revier/admin/v1/registration_tokens/{tokenId}"""
    requester = await require_admin(request)
    await services(request).registration_tokens.delete(
        requester.tenant, Actor.of(requester), request.path_params["tokenId"]
    )
    return json_response({})


def _token_json(info: RegistrationToken, now_ms: int) -> dict[str, Any]:
    return {
        "token_id": info.token_id,
        "uses_allowed": info.uses_allowed,
        "pending": info.pending,
        "completed": info.completed,
        "expiry_time": info.expiry_time,
        "created_ts": info.created_ts,
        "displayname_pattern": info.displayname_pattern,
        "max_devices": info.max_devices,
        "valid": info.usable(now_ms),
    }


routes = [
    Route(TOKENS, list_registration_tokens, methods=["GET"]),
    Route(TOKENS, create_registration_token, methods=["POST"]),
    Route(TOKENS + "/{tokenId}", get_registration_token, methods=["GET"]),
    Route(TOKENS + "/{tokenId}", update_registration_token, methods=["PUT"]),
    Route(TOKENS + "/{tokenId}", delete_registration_token, methods=["DELETE"]),
]
