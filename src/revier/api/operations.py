"""Operational endpoints: health and Prometheus metrics."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from revier.api.http import services
from revier.api.responses import json_response
from revier.config import MetricsSettings


async def health(request: Request) -> Response:
    """GET /health: 200 when the database answers, 503 otherwise."""
    problem = await services(request).health.problem()
    if problem is not None:
        return json_response({"status": "unavailable", "reason": problem}, status=503)
    return json_response({"status": "ok"})


def metrics_endpoint(settings: MetricsSettings) -> Callable[[Request], Awaitable[Response]]:
    """GET <metrics.path>: Prometheus text format, behind ``metrics.token`` if set."""
    expected = f"Bearer {settings.token.get_secret_value()}".encode() if settings.token else None

    async def metrics(request: Request) -> Response:
        if expected is not None:
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return Response(
                    "metrics need a bearer token\n",
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="revier metrics"'},
                )
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return metrics
