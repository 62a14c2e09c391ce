"""The ``m.oauth`` stage's page (spec "OAuth authentication"): an app signed in
through the OAuth 2.0 API wants to replace the account's cross-signing keys
(a "reset identity"); the person, signed in here with their second factor,
approves that one waiting request. The session ID in the URL is no secret:
approving needs this browser's signed-in session and the form's CSRF token,
and finishing the upload needs the app's access token."""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.errors import status_for
from revier.api.http import services
from revier.api.oauth.base import RESET_PATH
from revier.api.web.page import check_csrf, csrf_field, error_html, page, read_form, text
from revier.api.web.session import sign_in_redirect, signed_in
from revier.errors import MatrixError

_MAX_SESSION = 64


def _title(request: Request) -> str:
    return text(request, "Reset your identity", "Identität zurücksetzen")


async def reset_form(request: Request) -> Response:
    """GET /_revier/oauth2/cross_signing_reset?session=<UIA session>"""
    session = request.query_params.get("session", "")[:_MAX_SESSION]
    signed = await signed_in(request)
    if signed is None:
        return sign_in_redirect(request, f"{RESET_PATH}?{urlencode({'session': session})}")
    question = text(
        request,
        "One of your apps wants to reset your cryptographic identity (cross-signing keys). "
        "Your other devices will have to be verified again. Only allow this if you just "
        "started it yourself.",
        "Eine Ihrer Apps möchte Ihre kryptografische Identität (Cross-Signing-Schlüssel) "
        "zurücksetzen. Ihre anderen Geräte müssen danach neu verifiziert werden. Erlauben "
        "Sie das nur, wenn Sie es gerade selbst begonnen haben.",
    )
    body = f"""<h1>{_title(request)}</h1>
<p>{question}</p>
<form method="post" action="{RESET_PATH}">
{csrf_field(request, signed)}
<input type="hidden" name="session" value="{escape(session)}">
<button type="submit" id="allow" class="danger">{text(request, "Allow", "Erlauben")}</button>
</form>"""
    return page(request, _title(request), body)


async def approve_reset(request: Request) -> Response:
    """POST /_revier/oauth2/cross_signing_reset"""
    signed = await signed_in(request)
    if signed is None:
        return sign_in_redirect(request, RESET_PATH)
    try:
        fields = await read_form(request)
        await check_csrf(request, fields)
    except MatrixError as e:
        return page(request, _title(request), error_html(e.error), status=status_for(e))
    session = fields.get("session", "")[:_MAX_SESSION]
    approved = await services(request).cross_signing.approve_reset(signed.user_id, session)
    if not approved:
        message = text(
            request,
            "This request has expired or is not yours. Start the reset again in the app.",
            "Diese Anfrage ist abgelaufen oder nicht Ihre. Beginnen Sie in der App erneut.",
        )
        return page(request, _title(request), error_html(message), status=404)
    done = text(
        request,
        "Allowed. Go back to the app to finish the reset.",
        "Erlaubt. Kehren Sie zur App zurück, um das Zurücksetzen abzuschließen.",
    )
    body = f'<h1>{_title(request)}</h1>\n<p class="done" role="status">{done}</p>'
    return page(request, _title(request), body)


routes = [
    Route(RESET_PATH, reset_form, methods=["GET"]),
    Route(RESET_PATH, approve_reset, methods=["POST"]),
]
