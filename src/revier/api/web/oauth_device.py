"""The device authorization grant's verification page (RFC 8628 3.3): the person,
signed in, types the code their other device shows, sees which app and
device it is, and allows or declines it."""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.errors import status_for
from revier.api.http import services, tenant
from revier.api.oauth.base import VERIFY_PATH
from revier.api.web.page import check_csrf, csrf_field, error_html, page, read_form, text
from revier.api.web.session import sign_in_redirect, signed_in
from revier.errors import Forbidden, MatrixError
from revier.services.signin import SignedIn


def _title(request: Request) -> str:
    return text(request, "Sign in a device", "Gerät anmelden")


async def verify_form(request: Request) -> Response:
    """GET /_revier/oauth2/device/verify[?user_code=...]"""
    typed = request.query_params.get("user_code", "")[:32]
    signed = await signed_in(request)
    if signed is None:
        query = f"?{urlencode({'user_code': typed})}" if typed else ""
        return sign_in_redirect(request, VERIFY_PATH + query)
    if tenant(request).policy.login == "password":
        return _page(
            request, signed, error=text(request, "Not offered here.", "Hier nicht angeboten.")
        )
    return _page(request, signed, typed=typed)


async def verify(request: Request) -> Response:
    """POST /_revier/oauth2/device/verify: look the code up, or allow/decline it."""
    signed = await signed_in(request)
    if signed is None:
        return sign_in_redirect(request, VERIFY_PATH)
    typed = ""
    try:
        fields = await read_form(request)
        await check_csrf(request, fields)
        typed = fields.get("user_code", "")[:32]
        grants = services(request).oauth.device
        org = tenant(request)
        decision = fields.get("decision")
        if decision in ("allow", "deny"):
            if decision == "allow":
                pending = await grants.pending(org, typed)
                consent = await services(request).oauth.authorization.consent(
                    org, signed.user_id, pending.device_id
                )
                if consent.at_limit:
                    raise Forbidden(
                        text(
                            request,
                            f"Your account may have at most {consent.limit} devices: sign out "
                            "one on your account page first.",
                            f"Ihr Konto darf höchstens {consent.limit} Geräte haben: melden Sie "
                            "zuerst auf Ihrer Kontoseite eines ab.",
                        )
                    )
            await grants.decide(org, typed, signed.user_id, approve=decision == "allow")
            return _done(request, approved=decision == "allow")
        pending = await grants.pending(org, typed)
    except MatrixError as e:
        return _page(request, signed, typed=typed, error=_message(request, e), status=status_for(e))
    return _confirm(request, signed, typed, pending.client.client_name, pending.device_id)


def _message(request: Request, e: MatrixError) -> str:
    if e.errcode == "M_NOT_FOUND":
        return text(
            request,
            "No sign-in is waiting for this code. Check it, or start again on the device.",
            "Für diesen Code wartet keine Anmeldung. Prüfen Sie ihn oder beginnen Sie auf dem "
            "Gerät erneut.",
        )
    return e.error


def _page(
    request: Request,
    signed: SignedIn,
    *,
    typed: str = "",
    error: str | None = None,
    status: int = 200,
) -> Response:
    label = text(request, "Code shown on the device", "Code, den das Gerät anzeigt")
    body = f"""<h1>{_title(request)}</h1>
{error_html(error) if error else ""}
<form method="post" action="{VERIFY_PATH}">
{csrf_field(request, signed)}
<label for="user_code">{label}</label>
<input type="text" id="user_code" name="user_code" value="{escape(typed)}" required
 maxlength="16" autocomplete="off" autocapitalize="characters" spellcheck="false">
<button type="submit" name="decision" value="lookup">{text(request, "Continue", "Weiter")}</button>
</form>"""
    return page(request, _title(request), body, status=status)


def _confirm(
    request: Request, signed: SignedIn, typed: str, client_name: str | None, device_id: str
) -> Response:
    app = f"<strong id=client>{escape(client_name or '?')}</strong>"
    device = f"<code>{escape(device_id)}</code>"
    user = f"<strong>{escape(signed.user_id)}</strong>"
    question = text(
        request,
        f"{app} wants to sign in to your account {user} as device {device}. Only allow this "
        "if you started it yourself on that device.",
        f"{app} möchte sich als Gerät {device} bei Ihrem Konto {user} anmelden. Erlauben Sie "
        "das nur, wenn Sie es auf diesem Gerät selbst begonnen haben.",
    )
    body = f"""<h1>{_title(request)}</h1>
<p>{question}</p>
<form method="post" action="{VERIFY_PATH}">
{csrf_field(request, signed)}
<input type="hidden" name="user_code" value="{escape(typed)}">
<button type="submit" name="decision" value="allow" id="allow">{
        text(request, "Allow", "Erlauben")
    }</button>
<button type="submit" name="decision" value="deny" id="deny" class="danger">{
        text(request, "Deny", "Ablehnen")
    }</button>
</form>"""
    return page(request, _title(request), body)


def _done(request: Request, *, approved: bool) -> Response:
    message = (
        text(
            request,
            "Done: the device is signed in. You can go back to it.",
            "Fertig: das Gerät ist angemeldet. Sie können zu ihm zurückkehren.",
        )
        if approved
        else text(request, "The sign-in was declined.", "Die Anmeldung wurde abgelehnt.")
    )
    body = f'<h1>{_title(request)}</h1>\n<p class="done" role="status">{message}</p>'
    return page(request, _title(request), body)


routes = [
    Route(VERIFY_PATH, verify_form, methods=["GET"]),
    Route(VERIFY_PATH, verify, methods=["POST"]),
]
