"""The account page (``account_management_uri``): the owner's devices with
their last activity, signing one or all of them out, changing the password,
the second factors (``account_factors``), and signing this browser out.

Every change is a POST with the CSRF token, behind a complete web session;
signing a device out asks once more on a page of its own, because the device
erases its messages and keys. Works without JavaScript.
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.errors import error_headers, status_for
from revier.api.http import client_address, services, tenant
from revier.api.web.account_factors import factors_section
from revier.api.web.enrol import WEBAUTHN_SCRIPT
from revier.api.web.page import (
    FormRefused,
    check_csrf,
    csrf_field,
    device_label,
    error_html,
    page,
    read_form,
    text,
    when,
)
from revier.api.web.session import ACCOUNT_PATH, sign_in_redirect, signed_in
from revier.api.web.signin import SIGNOUT_PATH, signin_error
from revier.errors import InvalidParam, MatrixError, MissingParam, NotFound
from revier.services.core import Device
from revier.services.signin import SignedIn

DEVICES_PATH = f"{ACCOUNT_PATH}/devices/signout"
PASSWORD_PATH = f"{ACCOUNT_PATH}/password"
# Spec "Account management URL actions" about one device.
_ONE_DEVICE = ("org.matrix.device_view", "org.matrix.device_delete")


def _title(request: Request) -> str:
    return text(request, "Your account", "Ihr Konto")


async def account_page(request: Request) -> Response:
    """GET /_revier/account, also as the ``account_management_uri`` with the
    spec's ``action`` (``org.matrix.device_view`` and ``.device_delete`` show
    one device with its sign-out button; ``devices_list`` the page) and
    ``device_id``. Showing changes nothing: signing out is the page's POST."""
    signed = await signed_in(request)
    if signed is None:
        query = request.url.query
        return sign_in_redirect(request, f"{ACCOUNT_PATH}?{query}" if query else ACCOUNT_PATH)
    action = request.query_params.get("action")
    device_id = request.query_params.get("device_id")
    if action in _ONE_DEVICE and device_id:
        try:
            return await _confirm(request, signed, device_id)
        except MatrixError as e:
            return await _failed(request, signed, e)
    notice = ""
    if request.query_params.get("added") == "passkey":
        notice = text(request, "The passkey was added.", "Der Passkey wurde hinzugefügt.")
    return await overview(request, signed, notice=notice)


async def overview(
    request: Request,
    signed: SignedIn,
    *,
    notice: str = "",
    problem: str = "",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """The account page, with what the last action did (``notice``) or why it
    failed (``problem``) on top."""
    owned = await services(request).own_account.devices(tenant(request), signed)
    top = error_html(problem) if problem else ""
    if notice:
        top += f'<p class="done" role="status">{escape(notice)}</p>'
    body = f"""<h1>{_title(request)}</h1>
<p>{text(request, "Signed in as", "Angemeldet als")} <strong>{escape(signed.user_id)}</strong></p>
{top}
{_devices_section(request, signed, owned)}
{_password_section(request, signed)}
{await factors_section(request, signed)}
<h2>{text(request, "This browser", "Dieser Browser")}</h2>
<form method="post" action="{SIGNOUT_PATH}">
{csrf_field(request, signed)}
<button type="submit">{text(request, "Sign out of this page", "Von dieser Seite abmelden")}</button>
</form>"""
    return page(
        request, _title(request), body, status=status, headers=headers, scripts=[WEBAUTHN_SCRIPT]
    )


def _devices_section(request: Request, signed: SignedIn, owned: list[Device]) -> str:
    t = text
    if not owned:
        return f"""<h2>{t(request, "Devices", "Geräte")}</h2>
<p>{t(request, "No device is signed in.", "Kein Gerät ist angemeldet.")}</p>"""
    rows = "\n".join(
        f"""<tr><td>{device_label(d)}</td><td>{when(request, d.last_seen_ts)}</td><td>
<form class="inline" method="post" action="{DEVICES_PATH}">{csrf_field(request, signed)}
<input type="hidden" name="device_id" value="{escape(d.device_id)}">
<button type="submit" class="danger" aria-label="{t(request, "Sign out", "Abmelden")} {
            escape(d.display_name or d.device_id)
        }">{t(request, "Sign out", "Abmelden")}</button></form></td></tr>"""
        for d in owned
    )
    return f"""<h2>{t(request, "Devices", "Geräte")}</h2>
<p>{
        t(
            request,
            "A device you sign out here is logged out and erases its messages and keys.",
            "Ein Gerät, das Sie hier abmelden, wird ausgeloggt und löscht seine Nachrichten "
            "und Schlüssel.",
        )
    }</p>
<table id="devices">
<thead><tr><th scope="col">{t(request, "Device", "Gerät")}</th>
<th scope="col">{
        t(request, "Last activity", "Zuletzt aktiv")
    }</th><th scope="col"></th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
<form method="post" action="{DEVICES_PATH}">{csrf_field(request, signed)}
<input type="hidden" name="all" value="yes">
<button type="submit" class="danger">{
        t(request, "Sign out all devices", "Alle Geräte abmelden")
    }</button>
</form>"""


def _password_section(request: Request, signed: SignedIn) -> str:
    t = text
    minimum = tenant(request).policy.password_min_length
    return f"""<h2>{t(request, "Password", "Passwort")}</h2>
<form method="post" action="{PASSWORD_PATH}" autocomplete="on">
{csrf_field(request, signed)}
<input type="text" name="username" value="{escape(signed.user_id)}" autocomplete="username"
 hidden readonly>
<label for="old_password">{t(request, "Current password", "Aktuelles Passwort")}</label>
<input type="password" id="old_password" name="old_password" required maxlength="1024"
 autocomplete="current-password">
<label for="new_password">{t(request, "New password", "Neues Passwort")}</label>
<input type="password" id="new_password" name="new_password" required minlength="{minimum}"
 maxlength="1024" autocomplete="new-password" aria-describedby="password_rule">
<p id="password_rule">{
        t(
            request,
            f"At least {minimum} characters, not containing your user name.",
            f"Mindestens {minimum} Zeichen, ohne Ihren Benutzernamen.",
        )
    }</p>
<label for="repeat_password">{
        t(request, "New password again", "Neues Passwort wiederholen")
    }</label>
<input type="password" id="repeat_password" name="repeat_password" required maxlength="1024"
 autocomplete="new-password">
<label class="confirm"><input type="checkbox" name="logout_devices" value="yes">
{t(request, "Also sign out all my devices", "Auch alle meine Geräte abmelden")}</label>
<button type="submit">{t(request, "Change password", "Passwort ändern")}</button>
</form>"""


async def sign_out_devices(request: Request) -> Response:
    """POST /_revier/account/devices/signout: one device (``device_id``) or all
    (``all=yes``); without ``confirm=yes`` it asks first."""
    signed = await signed_in(request)
    if signed is None:
        return sign_in_redirect(request, ACCOUNT_PATH)
    try:
        fields = await read_form(request)
        await check_csrf(request, fields)
        every = fields.get("all") == "yes"
        device_id = fields.get("device_id", "")
        if not every and not device_id:
            raise MissingParam("Choose a device.")
        if fields.get("confirm") != "yes":
            return await _confirm(request, signed, None if every else device_id)
        wiped = await services(request).own_account.sign_out_devices(
            tenant(request), signed, None if every else [device_id], address=client_address(request)
        )
    except MatrixError as e:
        return await _failed(request, signed, e)
    names = ", ".join(d.display_name or d.device_id for d in wiped)
    notice = (
        text(request, f"Signed out: {names}.", f"Abgemeldet: {names}.")
        if wiped
        else text(request, "No device was signed in.", "Kein Gerät war angemeldet.")
    )
    return await overview(request, signed, notice=notice)


async def _confirm(request: Request, signed: SignedIn, device_id: str | None) -> Response:
    t = text
    if device_id is None:
        what = t(request, "all your devices", "alle Ihre Geräte")
        hidden = '<input type="hidden" name="all" value="yes">'
    else:
        owned = await services(request).own_account.devices(tenant(request), signed)
        device = next((d for d in owned if d.device_id == device_id), None)
        if device is None:
            raise NotFound("No such device.")
        what = device_label(device)
        hidden = f'<input type="hidden" name="device_id" value="{escape(device_id)}">'
    title = t(request, "Sign out?", "Abmelden?")
    body = f"""<h1>{title}</h1>
<p>{t(request, "Sign out", "Abmelden")}: <strong>{what}</strong></p>
<p>{
        t(
            request,
            "The device is logged out and erases its local data (messages and "
            "encryption keys) as soon as it next connects. This can't be undone.",
            "Das Gerät wird ausgeloggt und löscht seine lokalen Daten (Nachrichten und "
            "Schlüssel), sobald es sich das nächste Mal verbindet. Das lässt sich nicht "
            "rückgängig machen.",
        )
    }</p>
<form method="post" action="{DEVICES_PATH}">{csrf_field(request, signed)}
{hidden}<input type="hidden" name="confirm" value="yes">
<button type="submit" class="danger">{t(request, "Sign out", "Abmelden")}</button>
</form>
<p><a href="{ACCOUNT_PATH}">{t(request, "Cancel", "Abbrechen")}</a></p>"""
    return page(request, title, body)


async def change_password(request: Request) -> Response:
    """POST /_revier/account/password"""
    signed = await signed_in(request)
    if signed is None:
        return sign_in_redirect(request, ACCOUNT_PATH)
    try:
        fields = await read_form(request)
        await check_csrf(request, fields)
        old, new = fields.get("old_password", ""), fields.get("new_password", "")
        if not old or not new:
            raise MissingParam("Enter your current and your new password.")
        if new != fields.get("repeat_password", ""):
            raise InvalidParam("The new passwords differ.")
        removed = await services(request).own_account.change_password(
            tenant(request),
            signed,
            old=old,
            new=new,
            address=client_address(request),
            logout_devices=fields.get("logout_devices") == "yes",
        )
    except MatrixError as e:
        return await _failed(request, signed, e)
    notice = text(request, "Your password was changed.", "Ihr Passwort wurde geändert.")
    if removed:
        notice += text(
            request, f" {removed} device(s) signed out.", f" {removed} Gerät(e) abgemeldet."
        )
    return await overview(request, signed, notice=notice)


async def _failed(request: Request, signed: SignedIn, e: MatrixError) -> Response:
    return await overview(
        request,
        signed,
        problem=_message(request, e),
        status=status_for(e),
        headers=error_headers(e),
    )


def _message(request: Request, e: MatrixError) -> str:
    if isinstance(e, FormRefused):
        return signin_error(request, e)
    if e.errcode == "M_WEAK_PASSWORD":
        minimum = tenant(request).policy.password_min_length
        return text(
            request,
            f"The new password is not allowed: {e.error}.",
            f"Das neue Passwort ist nicht erlaubt: mindestens {minimum} Zeichen, "
            "ohne Ihren Benutzernamen.",
        )
    if e.errcode == "M_FORBIDDEN":
        return text(request, "The current password is wrong.", "Das aktuelle Passwort ist falsch.")
    if e.errcode in ("M_NOT_FOUND", "M_INVALID_PARAM") and "device" in e.error:
        return text(request, "No such device.", "Kein solches Gerät.")
    if e.errcode == "M_INVALID_PARAM" and "differ" in e.error:
        return text(request, e.error, "Die neuen Passwörter stimmen nicht überein.")
    return signin_error(request, e)


routes = [
    Route(ACCOUNT_PATH, account_page, methods=["GET"]),
    Route(DEVICES_PATH, sign_out_devices, methods=["POST"]),
    Route(PASSWORD_PATH, change_password, methods=["POST"]),
]
