"""End-to-end encryption keys (spec: "End-to-End Encryption", "Cross-signing")."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import authenticate, field, read_json_object, required, services
from revier.api.oauth.base import RESET_PATH, public_base
from revier.api.responses import json_response
from revier.errors import BadJson, MissingParam
from revier.services.core import SyncToken

V3 = "/_matrix/client/v3"


def _timeout(body: dict[str, Any]) -> None:
    # Only remote servers would be waited for; the value is checked, not used.
    field(body, "timeout", int, required=False)


async def upload_keys(request: Request) -> Response:
    """POST /_matrix/client/v3/keys/upload"""
    requester = await authenticate(request)
    body = await read_json_object(request)
    counts = await services(request).e2e_keys.upload_keys(
        requester,
        field(body, "device_keys", dict, required=False),
        field(body, "one_time_keys", dict, required=False),
        field(body, "fallback_keys", dict, required=False),
    )
    return json_response({"one_time_key_counts": counts})


async def query_keys(request: Request) -> Response:
    """POST /_matrix/client/v3/keys/query"""
    requester = await authenticate(request)
    body = await read_json_object(request)
    _timeout(body)
    wanted = required(body, "device_keys", dict)
    for user_id, device_ids in wanted.items():
        if not isinstance(device_ids, list) or not all(isinstance(d, str) for d in device_ids):
            raise BadJson(f"'device_keys' for {user_id} must be a list of device IDs")
    return json_response(await services(request).e2e_keys.query_keys(requester, wanted))


async def claim_keys(request: Request) -> Response:
    """POST /_matrix/client/v3/keys/claim"""
    requester = await authenticate(request)
    body = await read_json_object(request)
    _timeout(body)
    wanted = required(body, "one_time_keys", dict)
    for user_id, devices in wanted.items():
        if not isinstance(devices, dict) or not all(isinstance(a, str) for a in devices.values()):
            raise BadJson(f"'one_time_keys' for {user_id} must map device IDs to algorithms")
    return json_response(await services(request).e2e_keys.claim_keys(requester, wanted))


async def get_keys_changes(request: Request) -> Response:
    """GET /_matrix/client/v3/keys/changes"""
    requester = await authenticate(request)
    tokens = []
    for name in ("from", "to"):
        raw = request.query_params.get(name)
        if raw is None:
            raise MissingParam(f"'{name}' is required")
        tokens.append(SyncToken.parse(raw))
    changes = await services(request).e2e_keys.key_changes(requester, tokens[0], tokens[1])
    return json_response(changes)


async def upload_cross_signing_keys(request: Request) -> Response:
    """POST /_matrix/client/v3/keys/device_signing/upload"""
    requester = await authenticate(request)
    body = await read_json_object(request)
    login = requester.tenant.policy.login
    # Where users sign in through the OAuth 2.0 API, its clients know no password:
    # the spec's m.oauth stage sends the person to a page of ours to approve.
    oauth_url = None if login == "password" else public_base(request) + RESET_PATH
    await services(request).cross_signing.upload_keys(
        requester, body, oauth_url=oauth_url, password=login != "oauth_only"
    )
    return json_response({})


async def upload_cross_signing_signatures(request: Request) -> Response:
    """POST /_matrix/client/v3/keys/signatures/upload"""
    requester = await authenticate(request)
    body = await read_json_object(request)
    return json_response(await services(request).cross_signing.upload_signatures(requester, body))


routes = [
    Route(f"{V3}/keys/upload", upload_keys, methods=["POST"]),
    Route(f"{V3}/keys/query", query_keys, methods=["POST"]),
    Route(f"{V3}/keys/claim", claim_keys, methods=["POST"]),
    Route(f"{V3}/keys/changes", get_keys_changes, methods=["GET"]),
    Route(f"{V3}/keys/device_signing/upload", upload_cross_signing_keys, methods=["POST"]),
    Route(f"{V3}/keys/signatures/upload", upload_cross_signing_signatures, methods=["POST"]),
]
