"""A lean endpoint, under revier's one middleware, answers what Starlette's own
wrapping and error middleware would, in the spec's words."""

from __future__ import annotations

import functools

import httpx
import pytest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from revier import errors as e
from revier.api.endpoints import Endpoint, lean_endpoints
from revier.api.middleware import RevierMiddleware


async def fine(request: Request) -> Response:
    return JSONResponse({"path": request.url.path})


async def refused(request: Request) -> Response:
    raise e.Forbidden("not yours")


async def gone(request: Request) -> Response:
    raise HTTPException(404)


async def broken(request: Request) -> Response:
    raise RuntimeError("a bug")


async def tagged(request: Request, tag: str) -> Response:
    return JSONResponse({"tag": tag})


class AsgiApp:
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await JSONResponse({"by": "asgi"})(scope, receive, send)


def app() -> Starlette:
    """Built as ``revier.app.create_app`` builds it: our one middleware on the router."""
    routes: list[BaseRoute] = [
        Route("/fine", fine),
        Route("/refused", refused),
        Route("/gone", gone),
        Route("/broken", broken),
        Route("/tagged", functools.partial(tagged, tag="t")),
        Route("/asgi", AsgiApp()),
    ]
    lean_endpoints(routes)
    app = Starlette(routes=routes)
    app.middleware_stack = RevierMiddleware(app.router.middleware_stack, access_log=False)
    return app


def test_only_function_endpoints_are_wrapped() -> None:
    routes = app().router.routes
    wrapped = {r.path for r in routes if isinstance(r, Route) and isinstance(r.app, Endpoint)}
    assert wrapped == {"/fine", "/refused", "/gone", "/broken", "/tagged"}


@pytest.mark.asyncio
async def test_answers_errors_as_the_app_s_handlers_would() -> None:
    transport = httpx.ASGITransport(app=app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        assert (await http.get("/fine")).json() == {"path": "/fine"}
        assert (await http.get("/tagged")).json() == {"tag": "t"}
        assert (await http.get("/asgi")).json() == {"by": "asgi"}
        answer = await http.get("/refused")
        assert answer.status_code == 403
        assert answer.json() == {"errcode": "M_FORBIDDEN", "error": "not yours"}
        answer = await http.get("/gone")
        assert answer.status_code == 404
        assert answer.json()["errcode"] == "M_UNRECOGNIZED"
        answer = await http.post("/fine")  # the route's own 405
        assert (answer.status_code, answer.json()["errcode"]) == (405, "M_UNRECOGNIZED")
        answer = await http.get("/nowhere")  # the router's 404
        assert (answer.status_code, answer.json()["errcode"]) == (404, "M_UNRECOGNIZED")
        # Anything else goes on up to the middleware: a 500 without details.
        answer = await http.get("/broken")
        assert answer.status_code == 500
        assert answer.json() == {"errcode": "M_UNKNOWN", "error": "Internal server error"}
