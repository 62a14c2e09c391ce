"""Finding a request's route by its exact path before trying the routes in turn.

Starlette matches a request against each route's pattern in order: /sync is
the 56th of ~270 routes, about 50 µs of matching on every long-poll answer
(a twentieth of a woken /sync's server time, measured in process). A route
without path parameters matches one path only, so it can be looked up by that
path — provided no route before it matches the path too, which is checked
once at start-up: whatever the table answers, the scan would have answered.
Anything else (a path with parameters, a method the route does not take, a
mounted prefix) falls through to Starlette's own scan, unchanged.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Coroutine
from typing import Any, cast

from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import Receive, Scope, Send


def static_routes(routes: list[BaseRoute]) -> dict[str, list[Route]]:
    """path -> the routes without parameters for it that nothing before them matches."""
    table: dict[str, list[Route]] = defaultdict(list)
    for i, route in enumerate(routes):
        if not isinstance(route, Route) or route.param_convertors:
            continue
        same_path = table[route.path]  # earlier methods of this very path may stay
        if any(_may_match(r, route.path) for r in routes[:i] if r not in same_path):
            continue
        table[route.path].append(route)
    return {path: found for path, found in table.items() if found}


def _may_match(route: BaseRoute, path: str) -> bool:
    pattern = getattr(route, "path_regex", None)
    # A route of a kind without a pattern is not known not to match.
    return pattern is None or pattern.match(path) is not None


def index_static_routes(router: Router) -> None:
    """Have ``router`` look up routes without parameters by path before its scan."""
    table = static_routes(router.routes)
    scan = router.middleware_stack

    def dispatch(scope: Scope, receive: Receive, send: Send) -> Coroutine[Any, Any, None]:
        # Not a coroutine of its own: it hands on the route's (or the scan's),
        # so a parked long-poll's stack keeps no frame of it.
        if scope["type"] == "http" and not scope.get("root_path"):
            for route in table.get(scope["path"], ()):
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.setdefault("router", router)
                    scope["route"] = route
                    scope.update(child_scope)
                    # A full match took the method already: the route's app, not
                    # its handle() (one frame less on a parked request's stack).
                    # Every route app here is an async callable: typed Awaitable by
                    # Starlette, a coroutine in fact, as the router's stack expects.
                    return cast(Coroutine[Any, Any, None], route.app(scope, receive, send))
        return scan(scope, receive, send)

    router.middleware_stack = dispatch
