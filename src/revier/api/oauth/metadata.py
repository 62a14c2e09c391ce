"""Server metadata discovery (spec "Server metadata discovery", RFC 8414)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import tenant
from revier.api.oauth.base import (
    ACCOUNT_PATH,
    AUTHORIZE_PATH,
    DEVICE_PATH,
    REGISTER_PATH,
    REVOKE_PATH,
    TOKEN_PATH,
    public_base,
)
from revier.api.responses import json_response
from revier.errors import Unrecognized
from revier.services.signin import GRANT_TYPES

# What the account page (/_revier/account) does, in the spec's action names:
# the sessions, one session, signing one out. Profiles and closing the account
# are the help desk's in an organisation.
ACCOUNT_ACTIONS = ["org.matrix.devices_list", "org.matrix.device_view", "org.matrix.device_delete"]


async def get_auth_metadata(request: Request) -> Response:
    """GET /_matrix/client/v1/auth_metadata"""
    if tenant(request).policy.login == "password":
        # Spec "Authentication API discovery": 404 M_UNRECOGNIZED, legacy only.
        raise Unrecognized("This server uses the legacy authentication API only")
    base = public_base(request)
    return json_response(
        {
            "issuer": base + "/",
            "authorization_endpoint": base + AUTHORIZE_PATH,
            "token_endpoint": base + TOKEN_PATH,
            "revocation_endpoint": base + REVOKE_PATH,
            "registration_endpoint": base + REGISTER_PATH,
            "device_authorization_endpoint": base + DEVICE_PATH,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "fragment"],
            "grant_types_supported": list(GRANT_TYPES),
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "revocation_endpoint_auth_methods_supported": ["none"],
            # Accounts are made by the help desk: no "create" (registration page).
            "prompt_values_supported": ["consent"],
            "account_management_uri": base + ACCOUNT_PATH,
            "account_management_actions_supported": ACCOUNT_ACTIONS,
        },
        # Per tenant (the Host decides), and cacheable for a while (spec note).
        headers={"Vary": "Host", "Cache-Control": "public, max-age=300"},
    )


routes = [
    Route("/_matrix/client/v1/auth_metadata", get_auth_metadata, methods=["GET"]),
    # The unstable path of MSC2965, which Element Web still asks first.
    Route(
        "/_matrix/client/unstable/org.matrix.msc2965/auth_metadata",
        get_auth_metadata,
        methods=["GET"],
    ),
]
