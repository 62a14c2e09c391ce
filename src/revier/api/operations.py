"""Operational endpoints: health and Prometheus metrics."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from revier.api.http import services
from revier.api.responses import json_response


async def health(request: Request) -> Response:
    """GET /health: 200 when the database answers, 503 otherwise."""
    problem = await services(request).health.problem()
    if problem is not None:
        return json_response({"status": "unavailable", "reason": problem}, status=503)
    return json_response({"status": "ok"})


async def metrics(_request: Request) -> Response:
    """Prometheus text format (path configurable)."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
