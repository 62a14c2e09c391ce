"""RevierMiddleware: an unexpected error is answered once, as the spec's error JSON,
and the client's connection lives on."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from revier.api.middleware import RevierMiddleware


async def broken(request: Request) -> JSONResponse:
    raise RuntimeError("a bug")


async def fine(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


def app() -> Starlette:
    return Starlette(
        routes=[Route("/broken", broken), Route("/fine", fine)],
        middleware=[Middleware(RevierMiddleware, access_log=False)],
    )


async def test_a_bug_is_a_500_with_error_json_and_nothing_escapes() -> None:
    # ASGITransport re-raises whatever escapes the app, as a server would drop the
    # connection: this request must come back as a response instead.
    transport = httpx.ASGITransport(app=app(), raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get("/broken")
        assert r.status_code == 500
        assert r.json() == {"errcode": "M_UNKNOWN", "error": "Internal server error"}
        assert "a bug" not in r.text
        assert r.headers["access-control-allow-origin"] == "*"
        assert (await client.get("/fine")).json() == {"ok": True}


@pytest.mark.parametrize("path", ["/fine", "/nowhere"])
async def test_other_answers_pass_through(path: str) -> None:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get(path)
    assert r.status_code in (200, 404)
