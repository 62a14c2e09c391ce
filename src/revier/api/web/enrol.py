"""What enrolling a second factor looks like, on the sign-in path (forced by
the tenant's policy) and on the account page alike: the TOTP set-up with its
QR code, the recovery codes shown once, the passkey button."""

from __future__ import annotations

from html import escape

from starlette.requests import Request

from revier.api.web.page import error_html, text
from revier.services.signin import TotpEnrolment

WEBAUTHN_SCRIPT = "/_revier/static/webauthn.js"


def totp_setup(
    request: Request,
    enrolment: TotpEnrolment,
    *,
    action: str,
    hidden: str,
    error: str | None = None,
) -> str:
    """The QR code (inline SVG from the service), the secret as text for typing
    it in, and the form for two consecutive codes. ``hidden``: the form's hidden
    inputs (CSRF token, next)."""
    t = text
    problem = error_html(error) if error else ""
    # segno's SVG: made by the service from our own otpauth URI, no user input.
    qr = enrolment.qr_svg.replace(
        'class="segno"', 'class="segno qr" role="img" aria-labelledby="qr_label"', 1
    )
    secret = " ".join(enrolment.secret[i : i + 4] for i in range(0, len(enrolment.secret), 4))
    return f"""<h1>{t(request, "Set up an authenticator app", "Authenticator-App einrichten")}</h1>
{problem}
<ol>
<li>{
        t(
            request,
            "Open your authenticator app (for example FreeOTP, Aegis or Google Authenticator) "
            "and scan this code:",
            "Öffnen Sie Ihre Authenticator-App (zum Beispiel FreeOTP, Aegis oder Google "
            "Authenticator) und scannen Sie diesen Code:",
        )
    }
<p id="qr_label" class="sr">{t(request, "QR code for the app", "QR-Code für die App")}</p>
{qr}
<p>{t(request, "Or type in this key:", "Oder tippen Sie diesen Schlüssel ein:")}
<code id="totp_secret" class="codes">{escape(secret)}</code></p></li>
<li>{
        t(
            request,
            "Enter two codes the app shows, one after the other (wait for the next code).",
            "Geben Sie zwei Codes der App nacheinander ein (warten Sie auf den nächsten Code).",
        )
    }</li>
</ol>
<form method="post" action="{escape(action)}" autocomplete="off">
{hidden}
<label for="first">{t(request, "First code", "Erster Code")}</label>
<input type="text" id="first" name="first" required inputmode="numeric" pattern="[0-9 ]{{6,7}}"
 maxlength="7" autocomplete="one-time-code">
<label for="second">{t(request, "Next code", "Nächster Code")}</label>
<input type="text" id="second" name="second" required inputmode="numeric" pattern="[0-9 ]{{6,7}}"
 maxlength="7" autocomplete="one-time-code">
<button type="submit">{t(request, "Confirm", "Bestätigen")}</button>
</form>"""


def recovery_codes(request: Request, codes: list[str], *, continue_to: str) -> str:
    """The recovery codes, shown this once: they are stored only as hashes."""
    t = text
    items = "\n".join(f"<li>{escape(code)}</li>" for code in codes)
    return f"""<h1>{t(request, "Your recovery codes", "Ihre Wiederherstellungscodes")}</h1>
<p class="done" role="status">{
        t(
            request,
            "Write these codes down or print them and keep them safe. Each one works once, "
            "instead of a code from the app, if you lose your phone. They are shown only now.",
            "Schreiben Sie diese Codes auf oder drucken Sie sie aus und bewahren Sie sie sicher "
            "auf. Jeder gilt einmal, anstelle eines Codes der App, falls Sie Ihr Handy "
            "verlieren. Sie werden nur jetzt angezeigt.",
        )
    }</p>
<ul id="recovery_codes" class="codes">
{items}
</ul>
<p><a href="{escape(continue_to)}">{t(request, "Continue", "Weiter")}</a></p>"""


def passkey_button(
    request: Request,
    *,
    mode: str,
    options_url: str,
    submit_url: str,
    csrf: str,
    next_path: str,
    label: str,
    with_name: bool = False,
) -> str:
    """A button the script (``webauthn.js``) wires up: ``mode`` "register" or
    "authenticate". Without JavaScript it says so instead of doing nothing."""
    t = text
    name = (
        f"""<label for="passkey_name">{
            t(request, "Name of the passkey", "Name des Passkeys")
        }</label>
<input type="text" id="passkey_name" maxlength="64" value="{
            t(request, "My passkey", "Mein Passkey")
        }">"""
        if with_name
        else ""
    )
    return f"""<div class="passkey">
{name}
<button type="button" id="passkey" data-webauthn="{escape(mode)}"
 data-options="{escape(options_url)}" data-submit="{escape(submit_url)}"
 data-csrf="{escape(csrf)}" data-next="{escape(next_path)}"
 data-failed="{
        t(
            request,
            "The passkey did not work. Try again or use another way.",
            "Der Passkey hat nicht funktioniert. Versuchen Sie es erneut oder nutzen Sie einen "
            "anderen Weg.",
        )
    }">{escape(label)}</button>
<p id="passkey_error" class="error" role="alert" hidden></p>
<noscript><p>{
        t(
            request,
            "Passkeys need JavaScript in this browser.",
            "Passkeys brauchen JavaScript in diesem Browser.",
        )
    }</p></noscript>
</div>"""
