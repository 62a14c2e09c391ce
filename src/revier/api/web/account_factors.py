"""The second-factor part of the account page: the enrolled factors, adding
an authenticator app or a passkey, removing one, new recovery codes.

Removing a factor and making new recovery codes weaken or hand out the
account's protection, so both ask for the password again (behind the
lockout): a browser session left open is not enough for them.
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.errors import error_headers, status_for
from revier.api.http import client_address, services, tenant
from revier.api.web.enrol import passkey_button, recovery_codes, totp_setup
from revier.api.web.page import (
    FormRefused,
    check_csrf,
    csrf_field,
    csrf_token,
    error_html,
    page,
    read_form,
    text,
    when,
)
from revier.api.web.session import ACCOUNT_PATH, sign_in_redirect, signed_in
from revier.api.web.signin import signin_error
from revier.errors import MatrixError, MissingParam
from revier.services.signin import SignedIn

FACTORS_PATH = f"{ACCOUNT_PATH}/factors"
TOTP_PATH = f"{FACTORS_PATH}/totp"
REMOVE_PATH = f"{FACTORS_PATH}/remove"
RECOVERY_PATH = f"{FACTORS_PATH}/recovery"


async def factors_section(request: Request, signed: SignedIn) -> str:
    t = text
    svc = services(request).second_factors
    status = await svc.status(tenant(request), signed.user_id)
    if not status.offered and not status.enrolled:
        return ""
    enrolled = await svc.factors(tenant(request), signed.user_id)
    rows = "\n".join(
        f"""<tr><td>{escape(f.name)}</td><td>{
            t(request, "Authenticator app", "Authenticator-App") if f.kind == "totp" else "Passkey"
        }</td><td>{when(request, f.last_used_ts)}</td><td>
<form class="inline" method="post" action="{REMOVE_PATH}">{csrf_field(request, signed)}
<input type="hidden" name="factor_id" value="{escape(f.id)}">
<button type="submit" class="link" aria-label="{t(request, "Remove", "Entfernen")} {
            escape(f.name)
        }">{t(request, "Remove", "Entfernen")}</button></form></td></tr>"""
        for f in enrolled
    )
    listing = (
        f"""<table id="factors">
<thead><tr><th scope="col">{t(request, "Name", "Name")}</th>
<th scope="col">{t(request, "Kind", "Art")}</th>
<th scope="col">{t(request, "Last used", "Zuletzt benutzt")}</th>
<th scope="col"><span class="sr">{t(request, "Action", "Aktion")}</span></th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
<p id="recovery_left">{
            t(
                request,
                f"Recovery codes left: {status.recovery_codes_left}",
                f"Übrige Wiederherstellungscodes: {status.recovery_codes_left}",
            )
        }</p>
<form method="post" action="{RECOVERY_PATH}">{csrf_field(request, signed)}
<label for="recovery_password">{t(request, "Password", "Passwort")}</label>
<input type="password" id="recovery_password" name="password" required maxlength="1024"
 autocomplete="current-password">
<button type="submit">{
            t(request, "Make new recovery codes", "Neue Wiederherstellungscodes")
        }</button>
</form>"""
        if enrolled
        else f"<p>{t(request, 'No second factor yet.', 'Noch kein zweiter Faktor.')}</p>"
    )
    required = (
        f"<p>{t(request, 'Your organisation requires one.', 'Ihre Organisation verlangt einen.')}"
        "</p>"
        if status.required
        else ""
    )
    adding = (
        f"""<form method="post" action="{TOTP_PATH}">{csrf_field(request, signed)}
<button type="submit">{
            t(request, "Add an authenticator app", "Authenticator-App hinzufügen")
        }</button>
</form>
{
            passkey_button(
                request,
                mode="register",
                options_url=f"{FACTORS_PATH}/webauthn/options",
                submit_url=f"{FACTORS_PATH}/webauthn",
                csrf=csrf_token(request, signed),
                next_path=ACCOUNT_PATH,
                label=t(request, "Add a passkey", "Passkey hinzufügen"),
                with_name=True,
            )
        }"""
        if status.offered
        else ""
    )
    return f"""<h2 id="second_factor">{t(request, "Second factor", "Zweiter Faktor")}</h2>
{required}
{listing}
{adding}"""


async def add_totp(request: Request) -> Response:
    """POST /_revier/account/factors/totp: a new secret, or with ``first`` and
    ``second`` its confirmation (and the recovery codes, shown once)."""
    signed = await signed_in(request)
    if signed is None:
        return sign_in_redirect(request, ACCOUNT_PATH)
    svc = services(request).second_factors
    title = text(request, "Set up an authenticator app", "Authenticator-App einrichten")
    error: str | None = None
    status, headers = 200, None
    try:
        fields = await read_form(request)
        await check_csrf(request, fields)
        first, second = fields.get("first", ""), fields.get("second", "")
        if first or second:
            codes = await svc.confirm_totp(
                tenant(request), signed.user_id, first.replace(" ", ""), second.replace(" ", "")
            )
            body = recovery_codes(request, codes, continue_to=ACCOUNT_PATH)
            return page(request, title, body)
    except FormRefused as e:
        return page(request, title, error_html(signin_error(request, e)), status=status_for(e))
    except MatrixError as e:
        error = text(
            request,
            "The codes did not match. Scan this new code and try again.",
            "Die Codes passten nicht. Scannen Sie diesen neuen Code und versuchen Sie es erneut.",
        )
        status, headers = status_for(e), error_headers(e)
    enrolment = await svc.begin_totp(tenant(request), signed.user_id)
    hidden = csrf_field(request, signed)
    body = totp_setup(request, enrolment, action=TOTP_PATH, hidden=hidden, error=error)
    return page(request, title, body, status=status, headers=headers)


async def remove_factor(request: Request) -> Response:
    """POST /_revier/account/factors/remove: asks for the password first."""
    signed = await signed_in(request)
    if signed is None:
        return sign_in_redirect(request, ACCOUNT_PATH)
    t = text
    title = t(request, "Remove the second factor?", "Zweiten Faktor entfernen?")
    factor_id, problem = "", ""
    status, headers = 200, None
    try:
        fields = await read_form(request)
        await check_csrf(request, fields)
        factor_id = fields.get("factor_id", "")
        if not factor_id:
            raise MissingParam("Choose a factor.")
        password = fields.get("password", "")
        if password:
            await _password(request, signed, password)
            await services(request).second_factors.remove(
                tenant(request), signed.user_id, factor_id
            )
            done = t(request, "The factor was removed.", "Der Faktor wurde entfernt.")
            return _done(request, done)
    except FormRefused as e:
        return _failed(request, e)
    except MatrixError as e:
        problem = error_html(_message(request, e))
        status, headers = status_for(e), error_headers(e)
    body = f"""<h1>{title}</h1>
{problem}
<form method="post" action="{REMOVE_PATH}">{csrf_field(request, signed)}
<input type="hidden" name="factor_id" value="{escape(factor_id)}">
<label for="password">{t(request, "Password", "Passwort")}</label>
<input type="password" id="password" name="password" required maxlength="1024"
 autocomplete="current-password">
<button type="submit" class="danger">{t(request, "Remove", "Entfernen")}</button>
</form>
<p><a href="{ACCOUNT_PATH}">{t(request, "Cancel", "Abbrechen")}</a></p>"""
    return page(request, title, body, status=status, headers=headers)


async def new_recovery_codes(request: Request) -> Response:
    """POST /_revier/account/factors/recovery: behind the password."""
    signed = await signed_in(request)
    if signed is None:
        return sign_in_redirect(request, ACCOUNT_PATH)
    try:
        fields = await read_form(request)
        await check_csrf(request, fields)
        await _password(request, signed, fields.get("password", ""))
        codes = await services(request).second_factors.new_recovery_codes(
            tenant(request), signed.user_id
        )
    except MatrixError as e:
        return _failed(request, e)
    title = text(request, "Your recovery codes", "Ihre Wiederherstellungscodes")
    return page(request, title, recovery_codes(request, codes, continue_to=ACCOUNT_PATH))


def _back(request: Request) -> str:
    back = text(request, "Back to your account", "Zurück zu Ihrem Konto")
    return f'<p><a href="{ACCOUNT_PATH}">{back}</a></p>'


def _done(request: Request, message: str) -> Response:
    title = text(request, "Done", "Erledigt")
    status = f'<p class="done" role="status">{escape(message)}</p>'
    return page(request, title, f"<h1>{title}</h1>\n{status}\n{_back(request)}")


def _failed(request: Request, e: MatrixError) -> Response:
    title = text(request, "Not done", "Nicht erledigt")
    body = f"<h1>{title}</h1>\n{error_html(_message(request, e))}\n{_back(request)}"
    return page(request, title, body, status=status_for(e), headers=error_headers(e))


async def _password(request: Request, signed: SignedIn, password: str) -> None:
    if not password:
        raise MissingParam("Enter your password.")
    await services(request).signin_flow.check_password(
        tenant(request), user=signed.user_id, password=password, address=client_address(request)
    )


def _message(request: Request, e: MatrixError) -> str:
    if isinstance(e, FormRefused):
        return signin_error(request, e)
    if e.errcode == "M_FORBIDDEN" and "password" in e.error.lower():
        return text(request, "The password is wrong.", "Das Passwort ist falsch.")
    if e.errcode == "M_NOT_FOUND":
        return text(request, "No such second factor.", "Kein solcher zweiter Faktor.")
    return signin_error(request, e)


routes = [
    Route(TOTP_PATH, add_totp, methods=["POST"]),
    Route(REMOVE_PATH, remove_factor, methods=["POST"]),
    Route(RECOVERY_PATH, new_recovery_codes, methods=["POST"]),
]
