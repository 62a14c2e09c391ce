"""The sign-in page: user name and password, then (where one is enrolled or
required) the second factor, then back to ``next`` — a path on this server
only (part of the OAuth authorization URL, the account page, ...).

The password travels only in the POST body; ``next`` is carried in the form
as a hidden field and checked again on every step, never trusted.
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from revier.api.errors import error_headers, status_for
from revier.api.http import client_address, services, tenant
from revier.api.web.page import (
    FormRefused,
    check_csrf,
    csrf_field,
    error_html,
    page,
    read_form,
    text,
)
from revier.api.web.session import (
    SIGNIN_PATH,
    clear_session_cookie,
    safe_next,
    session_cookie,
    set_session_cookie,
    signed_in,
)
from revier.errors import MatrixError, MissingParam

SIGNOUT_PATH = "/_revier/signout"
FACTOR_PATH = f"{SIGNIN_PATH}/factor"
ENROL_PATH = f"{SIGNIN_PATH}/enrol"


def _title(request: Request) -> str:
    return text(request, "Sign in", "Anmelden")


async def signin_form(request: Request) -> Response:
    """GET /_revier/signin?next=<local path>"""
    next_path = safe_next(request.query_params.get("next"))
    if await signed_in(request) is not None:
        return go(next_path)
    return page(request, _title(request), _form(request, next_path))


async def signin_password(request: Request) -> Response:
    """POST /_revier/signin: the password step."""
    user = ""
    next_path = safe_next(None)
    try:
        fields = await read_form(request)
        next_path = safe_next(fields.get("next"))
        await check_csrf(request, fields)
        user = fields.get("user", "").strip()
        password = fields.get("password", "")
        if not user or not password:
            raise MissingParam("Enter your user name and your password.")
        step = await services(request).signin_flow.password(
            tenant(request),
            user=user,
            password=password,
            address=client_address(request),
            old_cookie=session_cookie(request),
        )
    except MatrixError as e:
        body = _form(request, next_path, error=signin_error(request, e), user=user)
        return page(request, _title(request), body, status=status_for(e), headers=error_headers(e))
    # A fresh session (and cookie value) at every sign-in: whatever session
    # cookie this browser brought (planted, or an old one) was ended, not reused.
    if step.step == "done":
        response = go(next_path)
    else:
        where = FACTOR_PATH if step.step == "factor" else ENROL_PATH
        response = go(f"{where}?next={quote(next_path, safe='')}")
    set_session_cookie(request, response, step.cookie)
    return response


async def signout(request: Request) -> Response:
    """POST /_revier/signout: ends this browser's session (the devices stay)."""
    try:
        await check_csrf(request, await read_form(request))
    except MatrixError as e:
        message = error_html(signin_error(request, e))
        return page(request, _title(request), message, status=status_for(e))
    await services(request).web_sessions.end(session_cookie(request))
    body = f"""<h1>{text(request, "Signed out", "Abgemeldet")}</h1>
<p class="done" role="status">{
        text(
            request,
            "You are signed out in this browser. Your apps stay signed in.",
            "Sie sind in diesem Browser abgemeldet. Ihre Apps bleiben angemeldet.",
        )
    }</p>
<p><a href="{SIGNIN_PATH}">{text(request, "Sign in again", "Erneut anmelden")}</a></p>"""
    response = page(request, text(request, "Signed out", "Abgemeldet"), body)
    clear_session_cookie(request, response)
    return response


def signin_error(request: Request, e: MatrixError) -> str:
    """What went wrong, in the page's language; the server's English text for
    what has no translation here."""
    retry = e.extra.get("retry_after_ms")
    wait = f" ({int(retry) // 1000 + 1} s)" if isinstance(retry, int) else ""
    known = {
        "M_FORBIDDEN": (
            "Wrong user name or password.",
            "Benutzername oder Passwort ist falsch.",
        ),
        "M_USER_LOCKED": (
            "This account is locked. Please ask the help desk.",
            "Dieses Konto ist gesperrt. Bitte wenden Sie sich an den Helpdesk.",
        ),
        "M_USER_DEACTIVATED": (
            "This account has been closed.",
            "Dieses Konto wurde geschlossen.",
        ),
        "M_LIMIT_EXCEEDED": (
            f"Too many attempts. Please wait a moment and try again{wait}.",
            f"Zu viele Versuche. Bitte warten Sie kurz und versuchen Sie es erneut{wait}.",
        ),
        "M_MISSING_PARAM": (
            "Enter your user name and your password.",
            "Geben Sie Benutzernamen und Passwort ein.",
        ),
    }
    if isinstance(e, FormRefused):
        # A CSRF refusal (check_csrf) is not a wrong password.
        return text(
            request,
            "The form has expired. Please try again.",
            "Das Formular ist abgelaufen. Bitte versuchen Sie es erneut.",
        )
    if e.errcode in known:
        en, de = known[e.errcode]
        return text(request, en, de)
    return e.error


def _form(request: Request, next_path: str, *, error: str | None = None, user: str = "") -> str:
    problem = error_html(error) if error else ""
    return f"""<h1>{_title(request)}</h1>
{problem}
<form method="post" action="{SIGNIN_PATH}" autocomplete="on">
{csrf_field(request, None)}
<input type="hidden" name="next" value="{escape(next_path)}">
<label for="user">{text(request, "User name", "Benutzername")}</label>
<input type="text" id="user" name="user" value="{escape(user)}" required maxlength="255"
 autocomplete="username" autocapitalize="none" spellcheck="false" autofocus>
<label for="password">{text(request, "Password", "Passwort")}</label>
<input type="password" id="password" name="password" required maxlength="1024"
 autocomplete="current-password">
<button type="submit">{_title(request)}</button>
</form>"""


def go(next_path: str) -> Response:
    # 303: the browser follows with a GET, and the POST is not repeated on reload.
    return RedirectResponse(
        safe_next(next_path),
        status_code=303,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


routes = [
    Route(SIGNIN_PATH, signin_form, methods=["GET"]),
    Route(SIGNIN_PATH, signin_password, methods=["POST"]),
    Route(SIGNOUT_PATH, signout, methods=["POST"]),
]
