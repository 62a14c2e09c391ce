"""Typing notifications, receipts and read markers."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import (
    authenticate,
    field,
    optional_str,
    read_json_object,
    required,
    services,
)
from revier.api.responses import json_response

V3 = "/_matrix/client/v3"


async def set_typing(request: Request) -> Response:
    """PUT /_matrix/client/v3/rooms/{roomId}/typing/{userId}"""
    requester = await authenticate(request)
    body = await read_json_object(request)
    typing = required(body, "typing", bool)
    timeout = field(body, "timeout", int, required=False) or 30_000
    p = request.path_params
    await services(request).typing.set_typing(requester, p["roomId"], p["userId"], typing, timeout)
    return json_response({})


async def post_receipt(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/receipt/{receiptType}/{eventId}"""
    requester = await authenticate(request)
    body = await read_json_object(request, allow_empty=True)
    p = request.path_params
    await services(request).receipts.post_receipt(
        requester, p["roomId"], p["receiptType"], p["eventId"], optional_str(body, "thread_id")
    )
    return json_response({})


async def set_read_marker(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/read_markers"""
    requester = await authenticate(request)
    body = await read_json_object(request)
    await services(request).receipts.set_read_markers(
        requester,
        request.path_params["roomId"],
        fully_read=optional_str(body, "m.fully_read"),
        read=optional_str(body, "m.read"),
        read_private=optional_str(body, "m.read.private"),
    )
    return json_response({})


routes = [
    Route(f"{V3}/rooms/{{roomId}}/typing/{{userId}}", set_typing, methods=["PUT"]),
    Route(
        f"{V3}/rooms/{{roomId}}/receipt/{{receiptType}}/{{eventId}}", post_receipt, methods=["POST"]
    ),
    Route(f"{V3}/rooms/{{roomId}}/read_markers", set_read_marker, methods=["POST"]),
]
