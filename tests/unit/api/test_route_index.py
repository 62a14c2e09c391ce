"""The route table by exact path answers what Starlette's scan in order would."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Match, Route

from revier.api.route_index import index_static_routes, static_routes
from revier.app import create_app
from revier.config_file import load_settings

METHODS = ("GET", "POST", "PUT", "DELETE", "OPTIONS")


def first_full_match(routes: list[BaseRoute], path: str, method: str) -> BaseRoute | None:
    scope = {"type": "http", "path": path, "method": method, "root_path": ""}
    for route in routes:
        if route.matches(scope)[0] is Match.FULL:
            return route
    return None


def test_revier_s_own_table_agrees_with_the_scan(tmp_path: Path) -> None:
    config = tmp_path / "revier.toml"
    config.write_text(
        f'[server]\ndata_dir = "{tmp_path}"\n[database]\nurl = "sqlite:///{tmp_path}/r.db"\n'
        '[[tenants]]\nserver_name = "localhost"\n'
    )
    routes = create_app(load_settings(config, {})).router.routes
    table = static_routes(routes)
    assert "/_matrix/client/v3/sync" in table
    for path, found in table.items():
        for method in METHODS:
            scope = {"type": "http", "path": path, "method": method, "root_path": ""}
            by_table = next((r for r in found if r.matches(scope)[0] is Match.FULL), None)
            if by_table is not None:
                assert by_table is first_full_match(routes, path, method), (path, method)


def endpoint(name: str) -> Callable[[Request], Awaitable[PlainTextResponse]]:
    async def answer(request: Request) -> PlainTextResponse:
        return PlainTextResponse(name)

    return answer


def test_a_path_an_earlier_pattern_matches_is_left_to_the_scan() -> None:
    routes: list[BaseRoute] = [
        Route("/rooms/{room}", endpoint("pattern")),
        Route("/rooms/list", endpoint("static, shadowed")),
        Route("/sync", endpoint("sync get"), methods=["GET"]),
        Route("/sync", endpoint("sync post"), methods=["POST"]),
    ]
    table = static_routes(routes)
    assert "/rooms/list" not in table
    assert [r.name for r in table["/sync"]] == ["answer", "answer"]


@pytest.mark.asyncio
async def test_answers_and_refusals_are_the_scans() -> None:
    app = Starlette(
        routes=[
            Route("/rooms/{room}", endpoint("pattern")),
            Route("/rooms/list", endpoint("static, shadowed")),
            Route("/sync", endpoint("sync"), methods=["GET"]),
        ]
    )
    index_static_routes(app.router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        assert (await http.get("/sync")).text == "sync"
        assert (await http.get("/rooms/list")).text == "pattern"  # as the scan decides
        assert (await http.post("/sync")).status_code == 405  # the scan's partial match
        assert (await http.get("/nowhere")).status_code == 404
