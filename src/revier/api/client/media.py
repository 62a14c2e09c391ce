"""The content repository (spec: "Content repository", authenticated media).

Every response carrying media bytes is made harmless for a browser that
opens it directly: ``nosniff``, a sandboxing Content-Security-Policy, and
``Content-Disposition: attachment`` for anything outside the inline list.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from revier.api.http import authenticate, query_int, services
from revier.api.responses import json_response
from revier.errors import InvalidParam, NotFound
from revier.policy.media import clean_content_type, content_disposition
from revier.services.media import Served, Upload

MEDIA_V3 = "/_matrix/media/v3"
MEDIA_V1 = "/_matrix/media/v1"
CLIENT_V1 = "/_matrix/client/v1/media"
DEFAULT_TIMEOUT_MS = 20_000

SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # Opened directly in a browser, media may show itself but never run anything.
    "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'; media-src 'self'",
    "Cross-Origin-Resource-Policy": "cross-origin",
    "Cache-Control": "private, max-age=86400",
}
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _upload(request: Request) -> Upload:
    declared = request.headers.get("content-length")
    return Upload(
        chunks=request.stream(),
        content_type=clean_content_type(request.headers.get("content-type")),
        filename=request.query_params.get("filename") or None,
        declared_length=int(declared) if declared and declared.isdigit() else None,
    )


async def upload_content(request: Request) -> Response:
    """POST /_matrix/media/v3/upload"""
    requester = await authenticate(request)
    uri = await services(request).media.upload(requester, _upload(request))
    return json_response({"content_uri": uri})


async def create_content(request: Request) -> Response:
    """POST /_matrix/media/v1/create"""
    requester = await authenticate(request)
    uri, expires = await services(request).media.create(requester)
    return json_response({"content_uri": uri, "unused_expires_at": expires})


async def upload_content_to_mxc(request: Request) -> Response:
    """PUT /_matrix/media/v3/upload/{serverName}/{mediaId}"""
    requester = await authenticate(request)
    p = request.path_params
    await services(request).media.upload_to(
        requester, p["serverName"], p["mediaId"], _upload(request)
    )
    return json_response({})


async def get_content_authed(request: Request) -> Response:
    """GET /_matrix/client/v1/media/download/{serverName}/{mediaId}[/{fileName}]"""
    requester = await authenticate(request)
    p = request.path_params
    media = services(request).media
    served = await media.download(
        requester, p["serverName"], p["mediaId"], timeout_ms=_timeout(request)
    )
    filename = p.get("fileName") or served.filename
    return _stream(request, served, content_disposition(served.content_type, filename))


async def get_content_thumbnail_authed(request: Request) -> Response:
    """GET /_matrix/client/v1/media/thumbnail/{serverName}/{mediaId}"""
    requester = await authenticate(request)
    p = request.path_params
    width = query_int(request, "width", -1, minimum=1)
    height = query_int(request, "height", -1, minimum=1)
    if width < 0 or height < 0:
        raise InvalidParam("'width' and 'height' are required")
    method = request.query_params.get("method", "scale")
    if method not in ("scale", "crop"):
        raise InvalidParam("'method' must be 'scale' or 'crop'")
    # ``animated`` is accepted and ignored: thumbnails are still images.
    served = await services(request).media.thumbnail(
        requester,
        p["serverName"],
        p["mediaId"],
        width=width,
        height=height,
        method=method,
        timeout_ms=_timeout(request),
    )
    return _stream(request, served, content_disposition(served.content_type, "thumbnail"))


async def get_config_authed(request: Request) -> Response:
    """GET /_matrix/client/v1/media/config"""
    requester = await authenticate(request)
    return json_response(services(request).media.config(requester))


async def get_url_preview_authed(request: Request) -> Response:
    """GET /_matrix/client/v1/media/preview_url"""
    requester = await authenticate(request)
    url = request.query_params.get("url")
    if not url:
        raise InvalidParam("'url' is required")
    return json_response(await services(request).url_previews.preview(requester, url))


async def legacy_media(_request: Request) -> Response:
    """GET /_matrix/media/v3/download|thumbnail/…: frozen since authenticated media.

    Everything on this server was uploaded after authenticated media was
    enforced, so the unauthenticated endpoints serve nothing (the spec's
    recommendation; no token-less URL can leak an attachment).
    """
    raise NotFound("Not found: use /_matrix/client/v1/media")


def _timeout(request: Request) -> int:
    return query_int(request, "timeout_ms", DEFAULT_TIMEOUT_MS)


def _byte_range(request: Request, size: int) -> tuple[int, int] | None:
    """One satisfiable ``Range: bytes=…``; anything else gets the whole (RFC 9110 allows)."""
    header = request.headers.get("range")
    match = _RANGE.match(header.strip()) if header else None
    if not match or size == 0:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":  # the last N bytes
        start, end = max(0, size - int(last)), size - 1
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    if start > end or start >= size:
        return None
    return start, end


def _stream(request: Request, served: Served, disposition: str) -> Response:
    headers = {
        **SAFE_HEADERS,
        "Content-Disposition": disposition,
        "Accept-Ranges": "bytes",
    }
    media_type = served.content_type
    media = services(request).media
    byte_range = _byte_range(request, served.size)
    if byte_range is None:
        headers["Content-Length"] = str(served.size)
        return StreamingResponse(media.open(served), headers=headers, media_type=media_type)
    start, end = byte_range
    headers["Content-Range"] = f"bytes {start}-{end}/{served.size}"
    headers["Content-Length"] = str(end - start + 1)
    return StreamingResponse(
        media.open(served, start, end),
        status_code=206,
        headers=headers,
        media_type=media_type,
    )


routes = [
    Route(f"{MEDIA_V3}/upload", upload_content, methods=["POST"]),
    Route(f"{MEDIA_V1}/create", create_content, methods=["POST"]),
    Route(f"{MEDIA_V3}/upload/{{serverName}}/{{mediaId}}", upload_content_to_mxc, methods=["PUT"]),
    Route(f"{CLIENT_V1}/download/{{serverName}}/{{mediaId}}", get_content_authed, methods=["GET"]),
    # matrix-nio asks for ".../{mediaId}/" when it has no file name.
    Route(f"{CLIENT_V1}/download/{{serverName}}/{{mediaId}}/", get_content_authed, methods=["GET"]),
    Route(
        f"{CLIENT_V1}/download/{{serverName}}/{{mediaId}}/{{fileName}}",
        get_content_authed,
        methods=["GET"],
    ),
    Route(
        f"{CLIENT_V1}/thumbnail/{{serverName}}/{{mediaId}}",
        get_content_thumbnail_authed,
        methods=["GET"],
    ),
    Route(f"{CLIENT_V1}/config", get_config_authed, methods=["GET"]),
    Route(f"{MEDIA_V3}/config", get_config_authed, methods=["GET"]),
    Route(f"{CLIENT_V1}/preview_url", get_url_preview_authed, methods=["GET"]),
    Route(f"{MEDIA_V3}/download/{{rest:path}}", legacy_media, methods=["GET"]),
    Route(f"{MEDIA_V3}/thumbnail/{{rest:path}}", legacy_media, methods=["GET"]),
]
