"""The directory sync on demand, for the organisation's admins: read the tenant's
LDAP directory now and bring its accounts in line, or (``dry_run``) show what
that would do. The same engine as the periodic sync and
``revier admin directory sync``. The reply names accounts, never more of the
people than their display names."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.admin.base import require_admin
from revier.api.http import field, read_json_object, services
from revier.api.responses import json_response
from revier.errors import Unknown
from revier.services.org import DirectoryUnavailable

SYNC = "/_revier/admin/v1/directory/sync"


async def sync_directory(request: Request) -> Response:
    """POST /_revier/admin/v1/directory/sync {"dry_run": bool, "allow_mass_deactivation": bool}"""
    requester = await require_admin(request)
    body = await read_json_object(request)
    dry_run = field(body, "dry_run", bool, required=False) or False
    allow = field(body, "allow_mass_deactivation", bool, required=False) or False
    try:
        result = await services(request).org_directory.sync.sync_ldap(
            requester.tenant,
            dry_run=dry_run,
            allow_mass_deactivation=allow,
            requested_by=requester.user_id,
        )
    except DirectoryUnavailable as e:
        raise Unknown(f"The directory can't be read: {e}") from None
    reply: dict[str, Any] = {"dry_run": dry_run, "plan": result.plan.describe()}
    if result.outcome is not None:
        reply["done"] = result.outcome.counts()
    return json_response(reply)


routes = [Route(SYNC, sync_directory, methods=["POST"])]
