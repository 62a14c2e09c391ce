"""Operational endpoints: health and Prometheus metrics."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import Response

from revier.api.http import services
from revier.api.responses import json_response


async def health(request: Request) -> Response:
    """GET /health: 200 when the database answers, 503 otherwise."""
    try:
        async with services(request).store.read() as tx:
            await tx.conn.execute(text("SELECT 1"))
    except Exception as exc:  # any database failure means "not healthy"
        return json_response({"status": "unavailable", "reason": type(exc).__name__}, status=503)
    return json_response({"status": "ok"})


async def metrics(_request: Request) -> Response:
    """Prometheus text format (path configurable)."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
