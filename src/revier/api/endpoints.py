"""A route's handler called as a plain ASGI app, Matrix errors answered on the spot.

Starlette wraps every function endpoint in three coroutines of its own (the
request/response adapter, its exception-handler wrapper, the inner app) that
stay on the stack for as long as the request lives. A parked long-poll lives
for half a minute and a phone server holds tens of thousands of them: each
frame is a few hundred bytes per waiting client (tracemalloc). ``Endpoint`` is
one frame doing the same: build the Request, call the handler, answer a
``MatrixError`` (or Starlette's own ``HTTPException``) with the spec's error
JSON, send the response. Anything else goes on up to ``RevierMiddleware``,
which answers 500 and logs it once.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from revier.api.errors import error_response
from revier.errors import MatrixError

Handler = Callable[[Request], Awaitable[Response]]


class Endpoint:
    def __init__(self, handler: Handler) -> None:
        self._handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            response = await self._handler(Request(scope, receive, send))
        except (MatrixError, HTTPException) as exc:
            response = error_response(exc)
        await response(scope, receive, send)


def lean_endpoints(routes: list[BaseRoute]) -> None:
    """Call every request/response endpoint of ``routes`` through an ``Endpoint``.

    Which endpoints those are is Starlette's rule: functions and methods, also
    behind ``functools.partial``; anything else is an ASGI app and stays one.
    """
    for route in routes:
        if not isinstance(route, Route):
            continue
        inner = route.endpoint
        while isinstance(inner, functools.partial):
            inner = inner.func
        if inspect.isfunction(inner) or inspect.ismethod(inner):
            route.app = Endpoint(route.endpoint)
