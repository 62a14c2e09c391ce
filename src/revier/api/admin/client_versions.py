"""Which client apps and versions the organisation's devices use (counts only).

For deciding ``min_client_versions``: how many devices an update would lock out.
Per client name and version the number of devices whose last request named it;
no user, no device, no address.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.admin.base import require_admin
from revier.api.http import services
from revier.api.responses import json_response

PATH = "/_revier/admin/v1/client_versions"


async def list_client_versions(request: Request) -> Response:
    """GET /_revier/admin/v1/client_versions"""
    requester = await require_admin(request)
    tenant = requester.tenant
    counts = await services(request).client_versions.in_use(tenant)
    minimums = tenant.policy.min_client_versions
    return json_response(
        {
            "clients": [
                {"name": c.name, "version": c.version, "devices": c.devices} for c in counts
            ],
            "min_client_versions": dict(minimums),
        }
    )


routes = [Route(PATH, list_client_versions, methods=["GET"])]
