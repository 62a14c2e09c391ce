"""Registration (RFC 7591), token (RFC 6749 with PKCE and RFC 8628), revocation
(RFC 7009) and device authorization (RFC 8628) endpoints."""

from __future__ import annotations

from typing import Any

import orjson
from authlib.oauth2.rfc6749.errors import (
    InvalidRequestError,
    OAuth2Error,
    UnsupportedGrantTypeError,
)
from authlib.oauth2.rfc7591.errors import InvalidClientMetadataError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import client_address, read_body, services, tenant
from revier.api.oauth.base import (
    DEVICE_PATH,
    NO_STORE,
    REGISTER_PATH,
    REVOKE_PATH,
    TOKEN_PATH,
    VERIFY_PATH,
    oauth_error,
    public_base,
    read_form,
)
from revier.api.responses import json_response
from revier.errors import TooLarge, Unrecognized
from revier.services.signin import DEVICE_CODE

_MAX_REGISTRATION_BYTES = 16 * 1024


def _offered(request: Request) -> None:
    """New sign-ins only where the tenant offers the OAuth 2.0 API. Refreshing and
    revoking go on after it is switched off: its sessions end as their owners
    sign out, not all at once."""
    if tenant(request).policy.login == "password":
        raise Unrecognized("This server uses the legacy authentication API only")


async def register_client(request: Request) -> Response:
    """POST /_revier/oauth2/register (RFC 7591 3.1)"""
    _offered(request)
    try:
        try:
            body = await read_body(request, _MAX_REGISTRATION_BYTES, "too large")
            metadata: Any = orjson.loads(body)
        except (TooLarge, orjson.JSONDecodeError):
            raise InvalidClientMetadataError("The body must be a small JSON object") from None
        if not isinstance(metadata, dict):
            raise InvalidClientMetadataError("The body must be a JSON object")
        registered = await services(request).oauth.clients.register(
            tenant(request), metadata, address=client_address(request)
        )
    except OAuth2Error as e:
        return oauth_error(e)
    return json_response(registered, status=201, headers=NO_STORE)


async def token(request: Request) -> Response:
    """POST /_revier/oauth2/token (RFC 6749 3.2)"""
    oauth = services(request).oauth
    org = tenant(request)
    address = client_address(request)
    try:
        form = await read_form(request)
        grant_type = form.get("grant_type")
        client_id = form.get("client_id")
        if grant_type == "authorization_code":
            client = await oauth.clients.get(org, client_id)
            body = await oauth.tokens.exchange_code(
                org,
                client_id=client.client_id,
                code=form.get("code"),
                redirect_uri=form.get("redirect_uri"),
                code_verifier=form.get("code_verifier"),
                client_name=client.client_name,
                address=address,
            )
        elif grant_type == "refresh_token":
            await oauth.clients.get(org, client_id)
            body = await oauth.tokens.refresh(
                org, client_id=client_id, refresh_token=form.get("refresh_token"), address=address
            )
        elif grant_type == DEVICE_CODE:
            await oauth.clients.get(org, client_id)
            body = await oauth.device.poll(
                org, client_id=client_id, device_code=form.get("device_code"), address=address
            )
        elif not grant_type:
            raise InvalidRequestError("grant_type is required")
        else:
            raise UnsupportedGrantTypeError(f"Unsupported grant_type {grant_type[:64]!r}")
    except OAuth2Error as e:
        return oauth_error(e)
    return json_response(body, headers=NO_STORE)


async def revoke(request: Request) -> Response:
    """POST /_revier/oauth2/revoke (RFC 7009 2.1)"""
    try:
        form = await read_form(request)
        token_value = form.get("token")
        if not token_value:
            raise InvalidRequestError("token is required")
        hint = form.get("token_type_hint")
        if hint is not None and hint not in ("access_token", "refresh_token"):
            raise InvalidRequestError("token_type_hint must be access_token or refresh_token")
        # A client_id that doesn't match still revokes (spec): secret scanners
        # revoke leaked tokens this way.
        await services(request).oauth.tokens.revoke(
            tenant(request), token_value, address=client_address(request)
        )
    except OAuth2Error as e:
        return oauth_error(e)
    return json_response({}, headers=NO_STORE)


async def device_authorization(request: Request) -> Response:
    """POST /_revier/oauth2/device (RFC 8628 3.1)"""
    _offered(request)
    try:
        form = await read_form(request)
        started = await services(request).oauth.device.start(
            tenant(request), client_id=form.get("client_id"), scope=form.get("scope")
        )
    except OAuth2Error as e:
        return oauth_error(e)
    verify = public_base(request) + VERIFY_PATH
    return json_response(
        {
            "device_code": started.device_code,
            "user_code": started.user_code,
            "verification_uri": verify,
            # The user code in this URL is only a pointer: approving needs the
            # person signed in on the page, and the access log keeps no query.
            "verification_uri_complete": f"{verify}?user_code={started.user_code}",
            "expires_in": started.expires_in,
            "interval": started.interval,
        },
        headers=NO_STORE,
    )


routes = [
    Route(REGISTER_PATH, register_client, methods=["POST"]),
    Route(TOKEN_PATH, token, methods=["POST"]),
    Route(REVOKE_PATH, revoke, methods=["POST"]),
    Route(DEVICE_PATH, device_authorization, methods=["POST"]),
]
