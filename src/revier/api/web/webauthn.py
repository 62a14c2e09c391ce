"""Passkeys in the browser: the one script file of these pages
(``/_revier/static/webauthn.js``, allowed by ``script-src 'self'``) and the
small JSON endpoints it talks to — options out, the authenticator's answer in.

Each POST carries the page's CSRF token in its JSON body and must be
``application/json`` (which a cross-site form can't send without CORS, and
revier's CORS doesn't cover these paths' cookies). The relying party is the
host the browser sees; the browser signs its real origin into the answer,
which the service checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from revier.api.http import client_address, read_body, services, tenant
from revier.api.web.account_factors import FACTORS_PATH
from revier.api.web.page import check_csrf, is_https
from revier.api.web.session import (
    ACCOUNT_PATH,
    safe_next,
    session_cookie,
    set_session_cookie,
    signed_in,
)
from revier.api.web.signin_factor import (
    WEBAUTHN_OPTIONS_PATH,
    WEBAUTHN_PATH,
    WEBAUTHN_REGISTER_OPTIONS_PATH,
    WEBAUTHN_REGISTER_PATH,
)
from revier.errors import BadJson, Forbidden, InvalidParam, NotJson

SCRIPT_PATH = "/_revier/static/webauthn.js"
ACCOUNT_OPTIONS_PATH = f"{FACTORS_PATH}/webauthn/options"
ACCOUNT_REGISTER_PATH = f"{FACTORS_PATH}/webauthn"
# An attestation with its certificates fits several times over.
MAX_JSON_BYTES = 64 * 1024
_SCRIPT = (Path(__file__).parent / "static" / "webauthn.js").read_bytes()
_NO_STORE = {"Cache-Control": "no-store"}


async def script(_request: Request) -> Response:
    """GET /_revier/static/webauthn.js"""
    return Response(
        _SCRIPT,
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


def relying_party(request: Request) -> tuple[str, str]:
    """The WebAuthn relying party ID and origin: the host the browser sees."""
    host = request.headers.get("host", "")
    origin = f"{'https' if is_https(request) else 'http'}://{host}"
    rp_id = urlsplit(origin).hostname or ""
    if not rp_id:
        raise InvalidParam("No host")
    return rp_id, origin


async def _body(request: Request) -> dict[str, object]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise NotJson("Send JSON")
    raw = await read_body(request, MAX_JSON_BYTES, "The request is too large")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise NotJson("The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadJson("The request body must be a JSON object")
    csrf = body.get("csrf")
    await check_csrf(request, {"csrf": csrf if isinstance(csrf, str) else ""})
    return body


def _credential(body: Mapping[str, object]) -> Mapping[str, object]:
    credential = body.get("credential")
    if not isinstance(credential, dict):
        raise BadJson("'credential' must be an object")
    return credential


def _name(body: Mapping[str, object]) -> str:
    name = body.get("name")
    return name if isinstance(name, str) and name.strip() else "Passkey"


def _json(value: object) -> Response:
    return JSONResponse(value, headers=_NO_STORE)


# Signing in: the second step with a passkey.


async def signin_options(request: Request) -> Response:
    """POST /_revier/signin/webauthn/options"""
    await _body(request)
    rp_id, _ = relying_party(request)
    options = await services(request).signin_flow.webauthn_options(
        tenant(request), session_cookie(request), rp_id=rp_id
    )
    return _json(options)


async def signin_answer(request: Request) -> Response:
    """POST /_revier/signin/webauthn: the assertion; a complete session."""
    body = await _body(request)
    rp_id, origin = relying_party(request)
    cookie = await services(request).signin_flow.second_factor(
        tenant(request),
        session_cookie(request),
        address=client_address(request),
        webauthn=_credential(body),
        rp_id=rp_id,
        origin=origin,
    )
    next_value = body.get("next")
    response = _json({"redirect": safe_next(next_value if isinstance(next_value, str) else None)})
    set_session_cookie(request, response, cookie)
    return response


# The enrolment the tenant requires, on the sign-in path.


async def enrol_options(request: Request) -> Response:
    """POST /_revier/signin/enrol/webauthn/options"""
    await _body(request)
    rp_id, origin = relying_party(request)
    options = await services(request).signin_flow.webauthn_registration_options(
        tenant(request), session_cookie(request), rp_id=rp_id, origin=origin
    )
    return _json(options)


async def enrol_answer(request: Request) -> Response:
    """POST /_revier/signin/enrol/webauthn: the new credential; a complete session."""
    body = await _body(request)
    rp_id, origin = relying_party(request)
    cookie = await services(request).signin_flow.webauthn_register(
        tenant(request),
        session_cookie(request),
        _credential(body),
        rp_id=rp_id,
        origin=origin,
        name=_name(body),
        address=client_address(request),
    )
    next_value = body.get("next")
    response = _json({"redirect": safe_next(next_value if isinstance(next_value, str) else None)})
    set_session_cookie(request, response, cookie)
    return response


# The account page: one more passkey.


async def account_options(request: Request) -> Response:
    """POST /_revier/account/factors/webauthn/options"""
    await _body(request)
    signed = await signed_in(request)
    if signed is None:
        raise Forbidden("Sign in first")
    rp_id, origin = relying_party(request)
    options = await services(request).second_factors.webauthn_registration_options(
        tenant(request), signed.user_id, rp_id=rp_id, origin=origin
    )
    return _json(options)


async def account_answer(request: Request) -> Response:
    """POST /_revier/account/factors/webauthn"""
    body = await _body(request)
    signed = await signed_in(request)
    if signed is None:
        raise Forbidden("Sign in first")
    rp_id, origin = relying_party(request)
    await services(request).second_factors.webauthn_register(
        tenant(request),
        signed.user_id,
        _credential(body),
        rp_id=rp_id,
        origin=origin,
        name=_name(body),
    )
    return _json({"redirect": f"{ACCOUNT_PATH}?added=passkey"})


routes = [
    Route(SCRIPT_PATH, script, methods=["GET"]),
    Route(WEBAUTHN_OPTIONS_PATH, signin_options, methods=["POST"]),
    Route(WEBAUTHN_PATH, signin_answer, methods=["POST"]),
    Route(WEBAUTHN_REGISTER_OPTIONS_PATH, enrol_options, methods=["POST"]),
    Route(WEBAUTHN_REGISTER_PATH, enrol_answer, methods=["POST"]),
    Route(ACCOUNT_OPTIONS_PATH, account_options, methods=["POST"]),
    Route(ACCOUNT_REGISTER_PATH, account_answer, methods=["POST"]),
]
