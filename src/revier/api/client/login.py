"""Login and logout (spec: "Client Authentication")."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import authenticate, client_address, field, read_json_object, services, tenant
from revier.api.responses import json_response
from revier.errors import BadJson, Forbidden, Unknown
from revier.services.accounts import LoginResult

PASSWORD = "m.login.password"
TOKEN = "m.login.token"


async def get_login_flows(request: Request) -> Response:
    """GET /_matrix/client/v3/login"""
    policy = tenant(request).policy
    # oauth_only: the password is typed only into revier's sign-in page, behind
    # the second factor; a client offered no password flow sends none.
    flows: list[dict[str, object]] = [] if policy.login == "oauth_only" else [{"type": PASSWORD}]
    if policy.login_token:
        # get_login_token: a logged-in device may make tokens (POST /login/get_token).
        flows.append({"type": TOKEN, "get_login_token": True})
    return json_response({"flows": flows})


async def login(request: Request) -> Response:
    """POST /_matrix/client/v3/login"""
    body = await read_json_object(request)
    login_type = field(body, "type", str)
    org = tenant(request)
    offered = [
        *([] if org.policy.login == "oauth_only" else [PASSWORD]),
        *([TOKEN] if org.policy.login_token else []),
    ]
    if login_type not in offered:
        if login_type == PASSWORD:
            raise Unknown("Sign in through the OAuth 2.0 API: password login is off here")
        raise Unknown(f"Unsupported login type; this server offers {' and '.join(offered)}")
    svc = services(request)
    # An outdated app learns it here, before it asks for the password again.
    svc.client_versions.require(org, request.headers.get("user-agent"))
    device_id = field(body, "device_id", str, required=False)
    display_name = field(body, "initial_device_display_name", str, required=False)
    refresh = bool(field(body, "refresh_token", bool, required=False))
    result: LoginResult
    if login_type == TOKEN:
        token = field(body, "token", str)
        assert token is not None
        result = await svc.auth.login_with_token(
            org,
            token=token,
            device_id=device_id,
            initial_device_display_name=display_name,
            address=client_address(request),
            refresh=refresh,
        )
    else:
        user = _user_from(body)
        password = field(body, "password", str)
        assert password is not None
        result = await svc.auth.login_with_password(
            org,
            user=user,
            password=password,
            device_id=device_id,
            initial_device_display_name=display_name,
            address=client_address(request),
            refresh=refresh,
        )
    return json_response(
        {
            **result.response(),
            "well_known": {"m.homeserver": {"base_url": svc.settings.public_baseurl}},
        }
    )


async def refresh(request: Request) -> Response:
    """POST /_matrix/client/v3/refresh"""
    body = await read_json_object(request)
    token = field(body, "refresh_token", str)
    assert token is not None
    issued = await services(request).refresh.refresh(tenant(request), token)
    out: dict[str, object] = {"access_token": issued.access_token}
    if issued.refresh_token is not None:
        out["refresh_token"] = issued.refresh_token
    if issued.expires_in_ms is not None:
        out["expires_in_ms"] = issued.expires_in_ms
    return json_response(out)


async def generate_login_token(request: Request) -> Response:
    """POST /_matrix/client/v1/login/get_token"""
    requester = await authenticate(request)
    body = await read_json_object(request, allow_empty=True)
    issued = await services(request).short_tokens.login_token(requester, body.get("auth"))
    return json_response({"login_token": issued.token, "expires_in_ms": issued.expires_in_ms})


def _user_from(body: dict[str, Any]) -> str:
    identifier = body.get("identifier")
    if identifier is None:
        # The deprecated top-level "user" field, still sent by older clients.
        user = field(body, "user", str)
        assert user is not None
        return user
    if not isinstance(identifier, dict):
        raise BadJson("'identifier' must be an object")
    if identifier.get("type") != "m.id.user":
        raise Forbidden("Only m.id.user identifiers are supported")
    user = identifier.get("user")
    if not isinstance(user, str) or not user:
        raise BadJson("'identifier.user' must be a non-empty string")
    return user


async def logout(request: Request) -> Response:
    """POST /_matrix/client/v3/logout"""
    # Spec "Account locking": logging out works while locked.
    requester = await authenticate(request, allow_locked=True)
    await services(request).auth.logout(requester)
    return json_response({})


async def logout_all(request: Request) -> Response:
    """POST /_matrix/client/v3/logout/all"""
    requester = await authenticate(request, allow_locked=True)
    await services(request).auth.logout_all(requester)
    return json_response({})


routes = [
    Route("/_matrix/client/v3/login", get_login_flows, methods=["GET"]),
    Route("/_matrix/client/v3/login", login, methods=["POST"]),
    Route("/_matrix/client/r0/login", get_login_flows, methods=["GET"]),
    Route("/_matrix/client/r0/login", login, methods=["POST"]),
    Route("/_matrix/client/v3/refresh", refresh, methods=["POST"]),
    Route("/_matrix/client/v1/login/get_token", generate_login_token, methods=["POST"]),
    Route("/_matrix/client/v3/logout", logout, methods=["POST"]),
    Route("/_matrix/client/v3/logout/all", logout_all, methods=["POST"]),
]
