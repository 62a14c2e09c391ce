"""Send-to-device messaging (spec: "Send-to-Device messaging")."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import authenticate, read_json_object, required, services
from revier.api.responses import json_response


async def send_to_device(request: Request) -> Response:
    """PUT /_matrix/client/v3/sendToDevice/{eventType}/{txnId}"""
    requester = await authenticate(request)
    body = await read_json_object(request)
    p = request.path_params
    await services(request).to_device.send(
        requester, p["eventType"], p["txnId"], required(body, "messages", dict)
    )
    return json_response({})


routes = [
    Route("/_matrix/client/v3/sendToDevice/{eventType}/{txnId}", send_to_device, methods=["PUT"]),
]
