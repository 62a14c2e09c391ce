"""The authorization endpoint as a person sees it (spec "Authorisation code
flow"): signed in on revier's sign-in page first (password and second factor),
then asked to consent — the app's name, the address it returns to, the
device it signs in — and sent back to the app with a single-use code.

The request's parameters travel from the GET to the consent POST as hidden
fields and are checked again there; nothing of them is trusted in between.
Errors about the app itself (unknown client, unregistered redirect URI) are
shown here and never redirected (no open redirector).
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from revier.api.errors import status_for
from revier.api.http import services, tenant
from revier.api.oauth.base import AUTHORIZE_PATH
from revier.api.web.page import (
    HEADERS,
    check_csrf,
    csrf_field,
    device_label,
    error_html,
    lang,
    page,
    read_form,
    text,
)
from revier.api.web.session import ACCOUNT_PATH, sign_in_redirect, signed_in
from revier.errors import MatrixError
from revier.services.signin import (
    UNKNOWN_CLIENT,
    UNREGISTERED_REDIRECT,
    AuthorizationRequest,
    Consent,
    ErrorRedirect,
    SignedIn,
    UntrustedRedirect,
)

# The parameters of an authorization request (spec table), carried to the POST.
PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "response_mode",
    "code_challenge",
    "code_challenge_method",
    "prompt",
)
_MAX_PARAM = 2048


def _title(request: Request) -> str:
    return text(request, "Allow access", "Zugriff erlauben")


async def authorize(request: Request) -> Response:
    """GET /_revier/oauth2/authorize"""
    params = {k: v for k, v in request.query_params.items() if k in PARAMS}
    outcome = await _checked(request, params)
    if isinstance(outcome, Response):
        return outcome
    signed = await signed_in(request)
    if signed is None:
        if "none" in outcome.prompt:
            return _back(outcome, "login_required")
        return sign_in_redirect(request, f"{AUTHORIZE_PATH}?{urlencode(params)}")
    if "none" in outcome.prompt:
        return _back(outcome, "consent_required")  # consent is always asked for
    consent = await services(request).oauth.authorization.consent(
        tenant(request), signed.user_id, outcome.scope.device_id
    )
    return _consent_page(request, outcome, params, signed, consent)


async def decide(request: Request) -> Response:
    """POST /_revier/oauth2/authorize: the person allows or declines."""
    try:
        fields = await read_form(request)
        await check_csrf(request, fields)
    except MatrixError as e:
        return page(request, _title(request), error_html(e.error), status=status_for(e))
    params = {k: v for k, v in fields.items() if k in PARAMS}
    outcome = await _checked(request, params)
    if isinstance(outcome, Response):
        return outcome
    signed = await signed_in(request)
    if signed is None:
        return sign_in_redirect(request, f"{AUTHORIZE_PATH}?{urlencode(params)}")
    oauth = services(request).oauth.authorization
    if fields.get("decision") != "allow":
        return _redirect(outcome, oauth.denied(outcome))
    try:
        location = await oauth.issue_code(tenant(request), outcome, signed.user_id)
    except MatrixError:  # the device limit, reached since the page was shown
        consent = await oauth.consent(tenant(request), signed.user_id, outcome.scope.device_id)
        return _consent_page(request, outcome, params, signed, consent, status=403)
    return _redirect(outcome, location)


async def _checked(request: Request, params: dict[str, str]) -> AuthorizationRequest | Response:
    org = tenant(request)
    if org.policy.login == "password" or any(len(v) > _MAX_PARAM for v in params.values()):
        return _refused(
            request,
            text(
                request,
                "This sign-in is not offered here.",
                "Diese Anmeldung wird hier nicht angeboten.",
            ),
        )
    try:
        return await services(request).oauth.authorization.check(org, params)
    except UntrustedRedirect as e:
        return _refused(request, _UNTRUSTED.get(e.description, (e.description,) * 2)[_de(request)])
    except ErrorRedirect as e:
        return RedirectResponse(e.location, status_code=303, headers=_NO_STORE)


_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
# The service's reasons (English) with their German.
_UNTRUSTED = {
    UNKNOWN_CLIENT: (UNKNOWN_CLIENT, "Diese App ist bei diesem Server nicht registriert."),
    UNREGISTERED_REDIRECT: (
        UNREGISTERED_REDIRECT,
        "Die App will zu einer Adresse zurückkehren, die sie nicht registriert hat.",
    ),
}


def _de(request: Request) -> int:
    return 1 if lang(request) == "de" else 0


def _refused(request: Request, reason: str) -> Response:
    body = f"""<h1>{_title(request)}</h1>
{error_html(reason)}
<p>{
        text(
            request,
            "Nothing was signed in. Close this page and try again from the app.",
            "Es wurde nichts angemeldet. Schließen Sie diese Seite und versuchen Sie es "
            "in der App erneut.",
        )
    }</p>"""
    return page(request, _title(request), body, status=400)


def _back(request: AuthorizationRequest, error: str) -> Response:
    return RedirectResponse(request.redirect({"error": error}), status_code=303, headers=_NO_STORE)


def _redirect(request: AuthorizationRequest, location: str) -> Response:
    return RedirectResponse(location, status_code=303, headers=_NO_STORE)


def _consent_page(
    request: Request,
    auth: AuthorizationRequest,
    params: dict[str, str],
    signed: SignedIn,
    consent: Consent,
    *,
    status: int = 200,
) -> Response:
    client = auth.client
    # Whatever the app registered is shown as text: a name can't inject markup.
    name = escape(client.client_name or urlsplit(client.client_uri).hostname or client.client_id)
    target = urlsplit(auth.redirect_uri)
    where = escape(target.hostname or target.scheme)
    device = f"<code>{escape(consent.device_id)}</code>"
    user = f"<strong>{escape(signed.user_id)}</strong>"
    if consent.new_device:
        signs_in = text(request, f"a new device {device}", f"ein neues Gerät {device}")
    else:
        signs_in = text(request, f"your device {device}", f"Ihr Gerät {device}")
    intro = text(
        request,
        f"<strong id=client>{name}</strong> wants to use your account {user}. It returns "
        f"to <strong id=redirect-host>{where}</strong> and signs in {signs_in}.",
        f"<strong id=client>{name}</strong> möchte Ihr Konto {user} verwenden. Es kehrt "
        f"zu <strong id=redirect-host>{where}</strong> zurück und meldet {signs_in} an.",
    )
    warning = text(
        request,
        "Only allow this if you just started signing in to this app yourself.",
        "Erlauben Sie das nur, wenn Sie die Anmeldung in dieser App gerade selbst begonnen haben.",
    )
    body = f"<h1>{_title(request)}</h1>\n<p>{intro}</p>\n<p>{warning}</p>\n"
    if consent.at_limit:
        body += _at_limit(request, consent)
    else:
        hidden = "\n".join(
            f'<input type="hidden" name="{k}" value="{escape(v)}">' for k, v in params.items()
        )
        body += f"""<form method="post" action="{AUTHORIZE_PATH}">
{csrf_field(request, signed)}
{hidden}
<button type="submit" name="decision" value="allow" id="allow">{
            text(request, "Allow", "Erlauben")
        }</button>
<button type="submit" name="decision" value="deny" id="deny" class="danger">{
            text(request, "Deny", "Ablehnen")
        }</button>
</form>"""
    headers = {"Content-Security-Policy": _with_form_target(auth.redirect_uri)}
    return page(request, _title(request), body, status=status, headers=headers)


def _at_limit(request: Request, consent: Consent) -> str:
    """The device limit is reached: which devices there are, and where to remove one."""
    items = "\n".join(f"<li>{device_label(d)}</li>" for d in consent.devices)
    limit = consent.limit
    message = text(
        request,
        f"Your account may have at most {limit} devices. Sign out one of these first, "
        "then try again:",
        f"Ihr Konto darf höchstens {limit} Geräte haben. Melden Sie zuerst eines davon "
        "ab und versuchen Sie es dann erneut:",
    )
    manage = text(request, "Manage your devices", "Geräte verwalten")
    return f"""{error_html(message)}
<ul id="devices">{items}</ul>
<p><a href="{ACCOUNT_PATH}">{manage}</a></p>"""


def _with_form_target(redirect_uri: str) -> str:
    """The page's CSP, with the app's redirect target allowed as a form action:
    browsers apply ``form-action`` to the redirect that follows the POST."""
    parts = urlsplit(redirect_uri)
    source = f"{parts.scheme}://{parts.netloc}" if parts.netloc else f"{parts.scheme}:"
    return HEADERS["Content-Security-Policy"].replace(
        "form-action 'self'", f"form-action 'self' {source}"
    )


routes = [
    Route(AUTHORIZE_PATH, authorize, methods=["GET"]),
    Route(AUTHORIZE_PATH, decide, methods=["POST"]),
]
