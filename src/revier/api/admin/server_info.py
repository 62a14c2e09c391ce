"""What is running here: version, tenants, whether conformance mode is on."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier import __version__
from revier.api.admin.base import require_admin
from revier.api.http import services
from revier.api.responses import json_response
from revier.conformance import conformance_mode


async def server_info(request: Request) -> Response:
    """GET /_revier/admin/v1/server_info"""
    await require_admin(request)
    svc = services(request)
    return json_response(
        {
            "version": __version__,
            "tenants": [t.server_name for t in svc.tenants],
            "conformance_mode": conformance_mode(svc.settings),
        }
    )


routes = [Route("/_revier/admin/v1/server_info", server_info, methods=["GET"])]
