"""The admin API's own OpenAPI document, served as it is kept in the repository."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.responses import json_response

SPEC_PATH = Path(__file__).with_name("openapi.yaml")


@cache
def document() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return spec


async def openapi(request: Request) -> Response:
    """GET /_revier/admin/v1/openapi.json: public, it documents and reveals nothing."""
    return json_response(document())


routes = [Route("/_revier/admin/v1/openapi.json", openapi, methods=["GET"])]
