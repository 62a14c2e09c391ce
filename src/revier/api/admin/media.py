"""Uploads, for the organisation's admins: what a user stored and how much,
deleting it, quarantining one item. Never the content itself.

The same operations as ``revier admin media``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.admin.base import next_token, page_params, require_admin
from revier.api.http import services
from revier.api.responses import json_response
from revier.services.core import Actor
from revier.services.media import MediaRecord

USER_MEDIA = "/_revier/admin/v1/users/{userId}/media"


async def list_user_media(request: Request) -> Response:
    """GET /_revier/admin/v1/users/{userId}/media"""
    requester = await require_admin(request)
    start, limit = page_params(request)
    records, total_bytes = await services(request).media_admin.list_user_media(
        requester.tenant, request.path_params["userId"], offset=start, limit=limit
    )
    body: dict[str, Any] = {
        "media": [_media_json(r) for r in records],
        "total_bytes": total_bytes,
    }
    if (token := next_token(start, len(records), limit)) is not None:
        body["next_token"] = token
    return json_response(body)


async def delete_user_media(request: Request) -> Response:
    """DELETE /_revier/admin/v1/users/{userId}/media"""
    requester = await require_admin(request)
    count = await services(request).media_admin.delete_user_media(
        requester.tenant, Actor.of(requester), request.path_params["userId"]
    )
    return json_response({"deleted": count})


async def quarantine_media(request: Request) -> Response:
    """POST /_revier/admin/v1/media/{serverName}/{mediaId}/quarantine"""
    requester = await require_admin(request)
    p = request.path_params
    await services(request).media_admin.set_quarantined(
        requester.tenant, Actor.of(requester), p["serverName"], p["mediaId"], True
    )
    return json_response({})


def _media_json(record: MediaRecord) -> dict[str, Any]:
    return {
        "content_uri": f"mxc://{record.server_name}/{record.media_id}",
        "media_id": record.media_id,
        "content_type": record.content_type,
        # None while an asynchronous upload (POST /media/v1/create) is pending.
        "size": record.size,
        "created_ts": record.created_ts,
        "quarantined": record.quarantined,
    }


routes = [
    Route(USER_MEDIA, list_user_media, methods=["GET"]),
    Route(USER_MEDIA, delete_user_media, methods=["DELETE"]),
    Route(
        "/_revier/admin/v1/media/{serverName}/{mediaId}/quarantine",
        quarantine_media,
        methods=["POST"],
    ),
]
