"""GET /_matrix/federation/v1/openid/userinfo (server-server spec "OpenID").

The spec puts the OpenID token in the query string. It is a short-lived token
that proves only who its user is, never an access token (the middleware lets a
query-string ``access_token`` through on this path alone, and the access log
never writes query strings).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import services, tenant
from revier.api.responses import json_response
from revier.errors import UnknownToken

USERINFO_PATH = "/_matrix/federation/v1/openid/userinfo"


async def get_openid_userinfo(request: Request) -> Response:
    """GET /_matrix/federation/v1/openid/userinfo"""
    token = request.query_params.get("access_token")
    if not token:
        raise UnknownToken("An OpenID token is required")
    # Answered for the tenant the Host names only: another tenant's token is unknown.
    user_id = await services(request).short_tokens.openid_userinfo(tenant(request), token)
    return json_response({"sub": user_id})


routes = [Route(USERINFO_PATH, get_openid_userinfo, methods=["GET"])]
