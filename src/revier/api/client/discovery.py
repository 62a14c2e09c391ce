"""Server discovery and feature negotiation: /versions, .well-known, /capabilities."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier import __version__
from revier.api.http import authenticate, services
from revier.api.responses import json_response

# The spec releases whose client-server API revier serves. Clients pick
# features by these (e.g. authenticated media needs v1.11).
SPEC_VERSIONS = [f"v1.{minor}" for minor in range(1, 20)]
SPEC_VERSIONS = ["r0.6.1", *SPEC_VERSIONS]


async def get_versions(_request: Request) -> Response:
    """GET /_matrix/client/versions"""
    return json_response({"versions": SPEC_VERSIONS, "unstable_features": {}})


async def get_wellknown(request: Request) -> Response:
    """GET /.well-known/matrix/client"""
    base_url = services(request).settings.public_baseurl
    return json_response({"m.homeserver": {"base_url": base_url}})


async def get_capabilities(request: Request) -> Response:
    """GET /_matrix/client/v3/capabilities"""
    await authenticate(request)
    return json_response(
        {
            "capabilities": {
                "m.change_password": {"enabled": True},
                "m.set_displayname": {"enabled": True},
                "m.set_avatar_url": {"enabled": True},
                "m.3pid_changes": {"enabled": False},
                "m.get_login_token": {"enabled": False},
            }
        }
    )


async def get_server_version(_request: Request) -> Response:
    """GET /_revier/version: revier's own version (not part of the Matrix API)."""
    return json_response({"server": {"name": "revier", "version": __version__}})


routes = [
    Route("/_matrix/client/versions", get_versions, methods=["GET"]),
    Route("/.well-known/matrix/client", get_wellknown, methods=["GET"]),
    Route("/_matrix/client/v3/capabilities", get_capabilities, methods=["GET"]),
    Route("/_matrix/client/r0/capabilities", get_capabilities, methods=["GET"]),
]
