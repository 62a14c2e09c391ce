"""Profiles and the user directory (spec: "Profiles", "User directory")."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import (
    authenticate,
    field,
    read_json_object,
    required,
    services,
    tenant,
    tenant_of_reader,
)
from revier.api.responses import json_response
from revier.services.core import Tenant

V3 = "/_matrix/client/v3"
DEFAULT_SEARCH_LIMIT = 10


async def get_user_profile(request: Request) -> Response:
    """GET /_matrix/client/v3/profile/{userId}

    The spec needs no token here; an organisation's staff list is not public,
    so one is required unless the tenant's policy says ``public_profiles``
    (and profiles are answered within the tenant only).
    """
    where = await _profile_tenant(request)
    profile = await services(request).profiles.get_profile(where, request.path_params["userId"])
    return json_response(profile)


async def get_profile_field(request: Request) -> Response:
    """GET /_matrix/client/v3/profile/{userId}/{keyName}"""
    where = await _profile_tenant(request)
    p = request.path_params
    body = await services(request).profiles.get_field(where, p["userId"], p["keyName"])
    return json_response(body)


async def _profile_tenant(request: Request) -> Tenant:
    public = tenant(request).policy.public_profiles
    return await tenant_of_reader(request, public=public)


async def set_profile_field(request: Request) -> Response:
    """PUT /_matrix/client/v3/profile/{userId}/{keyName}"""
    requester = await authenticate(request)
    body = await read_json_object(request)
    p = request.path_params
    await services(request).profiles.set_field(requester, p["userId"], p["keyName"], body)
    return json_response({})


async def delete_profile_field(request: Request) -> Response:
    """DELETE /_matrix/client/v3/profile/{userId}/{keyName}"""
    requester = await authenticate(request)
    p = request.path_params
    await services(request).profiles.delete_field(requester, p["userId"], p["keyName"])
    return json_response({})


async def search_user_directory(request: Request) -> Response:
    """POST /_matrix/client/v3/user_directory/search"""
    requester = await authenticate(request)
    body = await read_json_object(request)
    limit = field(body, "limit", int, required=False)
    result = await services(request).profiles.search_users(
        requester,
        required(body, "search_term", str),
        DEFAULT_SEARCH_LIMIT if limit is None else limit,
    )
    return json_response(result)


routes = [
    Route(f"{V3}/profile/{{userId}}", get_user_profile, methods=["GET"]),
    Route(f"{V3}/profile/{{userId}}/{{keyName}}", get_profile_field, methods=["GET"]),
    Route(f"{V3}/profile/{{userId}}/{{keyName}}", set_profile_field, methods=["PUT"]),
    Route(f"{V3}/profile/{{userId}}/{{keyName}}", delete_profile_field, methods=["DELETE"]),
    Route(f"{V3}/user_directory/search", search_user_directory, methods=["POST"]),
]
