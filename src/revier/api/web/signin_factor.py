"""The sign-in page's second step: the code of the authenticator app, a
recovery code or a passkey; or, where the tenant requires a second factor and
the user has none, its enrolment. Reached only with a session whose password
was right (``SignInFlow.pending``); ``next`` rides along, checked each time.
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.errors import error_headers, status_for
from revier.api.http import client_address, services, tenant
from revier.api.web.enrol import WEBAUTHN_SCRIPT, passkey_button, recovery_codes, totp_setup
from revier.api.web.page import (
    FormRefused,
    check_csrf,
    csrf_field,
    csrf_token,
    error_html,
    page,
    read_form,
    text,
)
from revier.api.web.session import SIGNIN_PATH, safe_next, session_cookie, set_session_cookie
from revier.api.web.signin import ENROL_PATH, FACTOR_PATH, go, signin_error
from revier.errors import MatrixError, MissingParam
from revier.services.signin import Step

TOTP_PATH = f"{ENROL_PATH}/totp"
WEBAUTHN_OPTIONS_PATH = f"{SIGNIN_PATH}/webauthn/options"
WEBAUTHN_PATH = f"{SIGNIN_PATH}/webauthn"
WEBAUTHN_REGISTER_OPTIONS_PATH = f"{ENROL_PATH}/webauthn/options"
WEBAUTHN_REGISTER_PATH = f"{ENROL_PATH}/webauthn"


def _title(request: Request) -> str:
    return text(request, "Second factor", "Zweiter Faktor")


def _hidden(request: Request, next_path: str) -> str:
    field = f'<input type="hidden" name="next" value="{escape(next_path)}">'
    return f"{csrf_field(request, None)}\n{field}"


async def _step(request: Request) -> tuple[Step, frozenset[str]] | None:
    """This browser's pending step and the user's enrolled factors; None
    without a pending session (expired, or never signed in)."""
    svc = services(request)
    try:
        session, step = await svc.signin_flow.pending(tenant(request), session_cookie(request))
    except MatrixError:
        return None
    status = await svc.second_factors.status(tenant(request), session.user_id)
    return step, frozenset(status.enrolled)


def _start_again(request: Request, next_path: str) -> Response:
    return go(f"{SIGNIN_PATH}?next={quote(next_path, safe='')}")


async def factor_form(request: Request) -> Response:
    """GET /_revier/signin/factor?next=…"""
    next_path = safe_next(request.query_params.get("next"))
    found = await _step(request)
    if found is None or found[0] != "factor":
        return _start_again(request, next_path)
    return _factor_page(request, next_path, found[1])


def _factor_page(
    request: Request,
    next_path: str,
    enrolled: frozenset[str],
    *,
    error: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    t = text
    parts = [f"<h1>{_title(request)}</h1>", error_html(error) if error else ""]
    if "webauthn" in enrolled:
        parts.append(
            passkey_button(
                request,
                mode="authenticate",
                options_url=WEBAUTHN_OPTIONS_PATH,
                submit_url=WEBAUTHN_PATH,
                csrf=csrf_token(request, None),
                next_path=next_path,
                label=t(request, "Sign in with a passkey", "Mit Passkey anmelden"),
            )
        )
    if "totp" in enrolled:
        parts.append(f"""<form method="post" action="{FACTOR_PATH}" autocomplete="off">
{_hidden(request, next_path)}
<label for="totp">{
            t(request, "Code from your authenticator app", "Code aus Ihrer Authenticator-App")
        }</label>
<input type="text" id="totp" name="totp" required inputmode="numeric" maxlength="7"
 autocomplete="one-time-code" autofocus>
<button type="submit">{t(request, "Sign in", "Anmelden")}</button>
</form>""")
    parts.append(f"""<h2>{t(request, "Lost your phone?", "Handy verloren?")}</h2>
<form method="post" action="{FACTOR_PATH}" autocomplete="off">
{_hidden(request, next_path)}
<label for="recovery_code">{t(request, "Recovery code", "Wiederherstellungscode")}</label>
<input type="text" id="recovery_code" name="recovery_code" required maxlength="64"
 autocapitalize="none" spellcheck="false">
<button type="submit">{
        t(request, "Sign in with recovery code", "Mit Wiederherstellungscode anmelden")
    }</button>
</form>""")
    scripts = [WEBAUTHN_SCRIPT] if "webauthn" in enrolled else []
    return page(
        request, _title(request), "\n".join(parts), status=status, headers=headers, scripts=scripts
    )


async def factor_submit(request: Request) -> Response:
    """POST /_revier/signin/factor: a TOTP code or a recovery code."""
    next_path = safe_next(None)
    try:
        fields = await read_form(request)
        next_path = safe_next(fields.get("next"))
        await check_csrf(request, fields)
        found = await _step(request)
        if found is None or found[0] != "factor":
            return _start_again(request, next_path)
        totp, recovery = fields.get("totp", "").strip(), fields.get("recovery_code", "").strip()
        if not totp and not recovery:
            raise MissingParam("Enter a code.")
        cookie = await services(request).signin_flow.second_factor(
            tenant(request),
            session_cookie(request),
            address=client_address(request),
            totp=totp.replace(" ", "") if totp else None,
            recovery_code=None if totp else recovery,
        )
    except MatrixError as e:
        found = await _step(request)
        if found is None:
            # The session ended with this answer (the account is locked now):
            # say why, rather than silently starting over.
            again = f"{SIGNIN_PATH}?next={quote(next_path, safe='')}"
            body = f"""<h1>{_title(request)}</h1>
{error_html(code_error(request, e))}
<p><a href="{escape(again)}">{text(request, "Sign in again", "Erneut anmelden")}</a></p>"""
            return page(
                request, _title(request), body, status=status_for(e), headers=error_headers(e)
            )
        return _factor_page(
            request,
            next_path,
            found[1],
            error=code_error(request, e),
            status=status_for(e),
            headers=error_headers(e),
        )
    response = go(next_path)
    set_session_cookie(request, response, cookie)
    return response


def code_error(request: Request, e: MatrixError) -> str:
    if e.errcode == "M_FORBIDDEN" and "code" in e.error.lower():
        return text(request, "The code is not right.", "Der Code ist nicht richtig.")
    if e.errcode == "M_MISSING_PARAM":
        return text(request, "Enter a code.", "Geben Sie einen Code ein.")
    return signin_error(request, e)


# The enrolment the tenant requires ----------------------------------------------


async def enrol_form(request: Request) -> Response:
    """GET /_revier/signin/enrol?next=…: the choice of factor."""
    next_path = safe_next(request.query_params.get("next"))
    found = await _step(request)
    if found is None or found[0] != "enrol":
        return _start_again(request, next_path)
    t = text
    body = f"""<h1>{t(request, "Set up a second factor", "Zweiten Faktor einrichten")}</h1>
<p>{
        t(
            request,
            "Your organisation requires a second factor for signing in. Set one up now: "
            "an authenticator app on your phone, or a passkey.",
            "Ihre Organisation verlangt einen zweiten Faktor für die Anmeldung. Richten Sie "
            "jetzt einen ein: eine Authenticator-App auf Ihrem Handy oder einen Passkey.",
        )
    }</p>
<form method="post" action="{TOTP_PATH}">
{_hidden(request, next_path)}
<button type="submit">{
        t(request, "Use an authenticator app", "Authenticator-App verwenden")
    }</button>
</form>
<h2>{t(request, "Or a passkey", "Oder ein Passkey")}</h2>
{
        passkey_button(
            request,
            mode="register",
            options_url=WEBAUTHN_REGISTER_OPTIONS_PATH,
            submit_url=WEBAUTHN_REGISTER_PATH,
            csrf=csrf_token(request, None),
            next_path=next_path,
            label=t(request, "Set up a passkey", "Passkey einrichten"),
            with_name=True,
        )
    }"""
    title = t(request, "Set up a second factor", "Zweiten Faktor einrichten")
    return page(request, title, body, scripts=[WEBAUTHN_SCRIPT])


async def enrol_totp(request: Request) -> Response:
    """POST /_revier/signin/enrol/totp: without codes, a new secret and its QR
    code; with ``first`` and ``second``, the confirmation."""
    next_path = safe_next(None)
    flow = services(request).signin_flow
    error: str | None = None
    status, headers = 200, None
    try:
        fields = await read_form(request)
        next_path = safe_next(fields.get("next"))
        await check_csrf(request, fields)
        first, second = fields.get("first", ""), fields.get("second", "")
        if first or second:
            codes, cookie = await flow.confirm_totp(
                tenant(request),
                session_cookie(request),
                first.replace(" ", ""),
                second.replace(" ", ""),
                address=client_address(request),
            )
            title = text(request, "Your recovery codes", "Ihre Wiederherstellungscodes")
            response = page(request, title, recovery_codes(request, codes, continue_to=next_path))
            set_session_cookie(request, response, cookie)
            return response
    except FormRefused as e:
        body = error_html(signin_error(request, e))
        return page(request, _title(request), body, status=status_for(e))
    except MatrixError as e:
        # Wrong codes: start over with a new secret (a secret never rides in a form).
        error = (
            code_error(request, e)
            if e.errcode != "M_FORBIDDEN"
            else text(
                request,
                "The codes did not match. Scan this new code and try again.",
                "Die Codes passten nicht. Scannen Sie diesen neuen Code und versuchen Sie es "
                "erneut.",
            )
        )
        status, headers = status_for(e), error_headers(e)
    try:
        enrolment = await flow.begin_totp(tenant(request), session_cookie(request))
    except MatrixError:
        return _start_again(request, next_path)
    body = totp_setup(
        request, enrolment, action=TOTP_PATH, hidden=_hidden(request, next_path), error=error
    )
    title = text(request, "Set up an authenticator app", "Authenticator-App einrichten")
    return page(request, title, body, status=status, headers=headers)


routes = [
    Route(FACTOR_PATH, factor_form, methods=["GET"]),
    Route(FACTOR_PATH, factor_submit, methods=["POST"]),
    Route(ENROL_PATH, enrol_form, methods=["GET"]),
    Route(TOTP_PATH, enrol_totp, methods=["POST"]),
]
