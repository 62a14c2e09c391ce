"""Account registration: closed, accounts come from the organisation."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.errors import Forbidden

CLOSED = (
    "Registration is closed on this server: accounts are created by your "
    "organisation. Ask your help desk for an account."
)


async def register(_request: Request) -> Response:
    """POST /_matrix/client/v3/register"""
    raise Forbidden(CLOSED)


async def check_username_availability(_request: Request) -> Response:
    """GET /_matrix/client/v3/register/available"""
    raise Forbidden(CLOSED)


routes = [
    Route("/_matrix/client/v3/register", register, methods=["POST"]),
    Route("/_matrix/client/r0/register", register, methods=["POST"]),
    Route("/_matrix/client/v3/register/available", check_username_availability, methods=["GET"]),
]
