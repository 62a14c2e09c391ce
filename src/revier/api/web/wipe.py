"""The self-service wipe page: an owner who has lost every device signs them all
out with their password (and the code of their second factor, when one is
enrolled), out of hours, without waiting for the help desk.

A plain HTML form on the shared layout (``page``): no script, every echoed
value escaped, the CSRF token. The password and code travel only in the POST
body (never in a URL, so never in a log or the browser history).
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.errors import error_headers, status_for
from revier.api.http import client_address, services, tenant
from revier.api.web.page import (
    FormRefused,
    check_csrf,
    csrf_field,
    device_label,
    error_html,
    page,
    read_form,
    text,
)
from revier.api.web.signin import signin_error
from revier.errors import InvalidParam, MatrixError, MissingParam
from revier.services.accounts import OwnerProof, OwnWipe

PATH = "/_revier/wipe"


def _title(request: Request) -> str:
    return text(request, "Sign out all devices", "Alle Geräte abmelden")


async def wipe_form(request: Request) -> Response:
    """GET /_revier/wipe"""
    return page(request, _title(request), _form(request))


async def wipe_devices(request: Request) -> Response:
    """POST /_revier/wipe"""
    user = ""
    try:
        fields = await read_form(request)
        await check_csrf(request, fields)
        user = fields.get("user", "").strip()
        proof = OwnerProof(
            user=user,
            password=fields.get("password", ""),
            code=fields.get("code", "").strip(),
        )
        if not proof.user or not proof.password:
            raise MissingParam("Enter your user name and your password.")
        if fields.get("confirm") != "yes":
            raise InvalidParam(
                "Tick the box to confirm that all your devices are to be signed out."
            )
        result = await services(request).device_admin.wipe_own_devices(
            tenant(request), proof, address=client_address(request)
        )
    except MatrixError as e:
        body = _form(request, error=_message(request, e), user=user)
        return page(request, _title(request), body, status=status_for(e), headers=error_headers(e))
    return page(request, _title(request), _done(request, result))


def _message(request: Request, e: MatrixError) -> str:
    if e.errcode == "M_INVALID_PARAM" and "Tick the box" in e.error:
        return text(
            request,
            e.error,
            "Kreuzen Sie das Kästchen an, um zu bestätigen, dass alle Ihre Geräte "
            "abgemeldet werden sollen.",
        )
    if e.errcode == "M_FORBIDDEN" and not isinstance(e, FormRefused) and "code" in e.error:
        if e.error.startswith("Enter"):  # a factor is enrolled, no code was given
            return text(
                request,
                "Your account has a second factor: enter the code from your authenticator "
                "app or one of your recovery codes.",
                "Ihr Konto hat einen zweiten Faktor: Geben Sie den Code aus Ihrer "
                "Authenticator-App oder einen Ihrer Wiederherstellungscodes ein.",
            )
        return text(request, "The code is wrong.", "Der Code ist falsch.")
    return signin_error(request, e)


def _form(request: Request, *, error: str | None = None, user: str = "") -> str:
    t = text
    problem = error_html(error) if error else ""
    intro = t(
        request,
        """<p>Lost your phone or laptop, and no other device is still logged in to your
account? Here you can sign out <strong>all</strong> devices of your account at once.</p>
<p>Each device is logged out and erases its local data (messages and
encryption keys) as soon as it next connects. This can't be undone: to use
the account again, log in anew.</p>
<p>If one of your devices is still logged in, remove the lost one there
instead, under Settings → Sessions.</p>""",
        """<p>Handy oder Laptop verloren, und kein anderes Gerät ist mehr bei Ihrem
Konto angemeldet? Hier melden Sie <strong>alle</strong> Geräte Ihres Kontos auf einmal ab.</p>
<p>Jedes Gerät wird ausgeloggt und löscht seine lokalen Daten (Nachrichten und
Schlüssel), sobald es sich das nächste Mal verbindet. Das lässt sich nicht
rückgängig machen: Um das Konto wieder zu nutzen, melden Sie sich neu an.</p>
<p>Ist eines Ihrer Geräte noch angemeldet, entfernen Sie das verlorene besser dort,
unter Einstellungen → Sitzungen.</p>""",
    )
    return f"""<h1>{_title(request)}</h1>
{intro}
{problem}
<form method="post" action="{PATH}" autocomplete="on">
{csrf_field(request, None)}
<label for="user">{t(request, "User name", "Benutzername")}</label>
<input type="text" id="user" name="user" value="{escape(user)}" required maxlength="255"
 autocomplete="username" autocapitalize="none" spellcheck="false">
<label for="password">{t(request, "Password", "Passwort")}</label>
<input type="password" id="password" name="password" required maxlength="1024"
 autocomplete="current-password">
<label for="code">{t(request, "Code of your second factor", "Code Ihres zweiten Faktors")}</label>
<input type="text" id="code" name="code" maxlength="64" autocomplete="one-time-code"
 autocapitalize="none" spellcheck="false" aria-describedby="code_help">
<p id="code_help">{
        t(
            request,
            "Only if you set one up: the code from your authenticator app, or a recovery code.",
            "Nur falls eingerichtet: der Code aus Ihrer Authenticator-App oder ein "
            "Wiederherstellungscode.",
        )
    }</p>
<label class="confirm"><input type="checkbox" name="confirm" value="yes" required>
{
        t(
            request,
            "Sign out all my devices and erase their data",
            "Alle meine Geräte abmelden und ihre Daten löschen",
        )
    }</label>
<button type="submit" class="danger">{_title(request)}</button>
</form>"""


def _done(request: Request, result: OwnWipe) -> str:
    user = escape(result.user_id)
    if not result.wiped:
        message = text(
            request,
            f"No device was logged in to {user}; nothing needed signing out.",
            f"Bei {user} war kein Gerät angemeldet; es war nichts abzumelden.",
        )
        return f'<h1>{_title(request)}</h1><p class="done" role="status">{message}</p>'
    items = "\n".join(f"<li>{device_label(d)}</li>" for d in result.wiped)
    message = text(
        request,
        f"All devices of {user} were signed out. Each one erases its local data as soon "
        "as it next connects.",
        f"Alle Geräte von {user} wurden abgemeldet. Jedes löscht seine lokalen Daten, "
        "sobald es sich das nächste Mal verbindet.",
    )
    return f"""<h1>{_title(request)}</h1>
<p class="done" role="status">{message}</p>
<p>{text(request, "Signed out:", "Abgemeldet:")}</p>
<ul id="wiped">
{items}
</ul>"""


routes = [
    Route(PATH, wipe_form, methods=["GET"]),
    Route(PATH, wipe_devices, methods=["POST"]),
]
