"""What every page of revier's own (sign-in, account, wipe, consent) shares: the
layout, the strict headers, the language, the bounded form, and CSRF.

Pages are plain HTML forms: no template engine (every echoed value goes
through ``html.escape``), no inline script, one inline style allowed by its
hash. A page that needs a script (WebAuthn) names files under
``/_revier/static/`` and the CSP then allows ``script-src 'self'`` — still no
inline script. Secrets travel only in POST bodies, never in URLs.

CSRF: the browser carries a random cookie (the web session's, or before
signing in a ``csrf`` cookie set with the first form); each form carries an
HMAC of that cookie under the server's key. A cross-site page can neither
read the cookie nor compute the HMAC, and SameSite=Lax keeps the cookies off
its POSTs anyway; a foreign ``Origin`` is refused as a third lock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Literal
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from revier.api.http import read_body, services
from revier.errors import Forbidden, InvalidParam
from revier.services.core import Device
from revier.services.signin import SignedIn

Lang = Literal["de", "en"]


class FormRefused(Forbidden):
    """A form that did not come from one of our pages in this browser (CSRF)."""


# A user name, a password and a few small fields fit many times over; anything
# bigger is not one of these forms.
MAX_FORM_BYTES = 4096
FORM_TYPE = "application/x-www-form-urlencoded"
CSRF_NAME = "csrf"

CSS = (
    "body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.5;color:#1b1b1b}"
    "label{display:block;margin-top:1rem;font-weight:600}"
    "input[type=text],input[type=password]{width:100%;padding:.5rem;font-size:1rem;"
    "box-sizing:border-box}"
    ".confirm{font-weight:normal}"
    "button{margin-top:1.5rem;padding:.6rem 1rem;font-size:1rem;background:#1f4e79;"
    "color:#fff;border:0;border-radius:4px}"
    "button.danger{background:#b00020}"
    "button.link{background:none;color:#1f4e79;text-decoration:underline;padding:0;margin:0}"
    ".error{background:#fdecea;border-left:4px solid #b00020;padding:.5rem 1rem}"
    ".done{background:#e8f5e9;border-left:4px solid #2e7d32;padding:.5rem 1rem}"
    ".codes{font-family:monospace;font-size:1.1rem}"
    "table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem;"
    "border-bottom:1px solid #ddd;vertical-align:top}"
    "form.inline{display:inline;margin:0}"
    "svg.qr{width:14rem;height:14rem}"
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}"
)
# The one inline style is allowed by its hash: no 'unsafe-inline' anywhere.
_CSS_HASH = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
_CSP = (
    "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    f"style-src 'sha256-{_CSS_HASH}'"
)
HEADERS = {
    "Content-Security-Policy": _CSP,
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}
# With a script file: the file from here, and its fetches back to here.
_SCRIPT_CSP = f"{_CSP}; script-src 'self'; connect-src 'self'"


def lang(request: Request) -> Lang:
    """German or English, whichever the browser's Accept-Language prefers
    (by its q-values); English when it names neither."""
    best: tuple[float, int, Lang] | None = None
    header = request.headers.get("accept-language", "")
    for index, part in enumerate(header.split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in ("de", "en"):
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        # Higher q wins; between equals, the one named first.
        choice: Lang = "de" if primary == "de" else "en"
        key = (q, -index, choice)
        if best is None or key[:2] > best[:2]:
            best = key
    return best[2] if best else "en"


def text(request: Request, en: str, de: str) -> str:
    """One of two translations, by ``lang`` (the pages' texts are written in pairs)."""
    return de if lang(request) == "de" else en


def when(request: Request, ms: int | None) -> str:
    """A moment for people, in UTC (the server can't know the browser's zone
    without a script)."""
    if ms is None:
        return text(request, "never", "nie")
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    if lang(request) == "de":
        return moment.strftime("%d.%m.%Y, %H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def is_https(request: Request) -> bool:
    """Whether the browser reaches us over https: directly, or through the proxy
    that the configured public base URL names."""
    if request.url.scheme == "https":
        return True
    return services(request).settings.public_baseurl.startswith("https://")


def page(
    request: Request,
    title: str,
    body_html: str,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    scripts: Sequence[str] = (),
) -> HTMLResponse:
    """The shared layout with the strict headers, in the request's language.

    ``body_html`` is trusted markup: whatever it echoes must be escaped by the
    caller. ``scripts`` are paths of script files served by revier itself.
    """
    tags = "".join(f'<script src="{escape(s)}" defer></script>\n' for s in scripts)
    html = f"""<!doctype html>
<html lang="{lang(request)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{escape(title)}</title>
<style>{CSS}</style>
{tags}</head>
<body>
<main>
{body_html}
</main>
</body>
</html>
"""
    base = dict(HEADERS)
    if scripts:
        base["Content-Security-Policy"] = _SCRIPT_CSP
    response = HTMLResponse(html, status_code=status, headers={**base, **(headers or {})})
    _set_csrf_cookie(request, response)
    return response


def device_label(device: Device) -> str:
    """A device as its owner knows it: the name they gave it, and its ID."""
    name = device.display_name
    if name and name != device.device_id:
        return f"{escape(name)} ({escape(device.device_id)})"
    return escape(device.device_id)


def error_html(message: str) -> str:
    """An error for the top of a form, read out by screen readers at once."""
    return f'<p class="error" role="alert">{escape(message)}</p>'


async def read_form(request: Request) -> dict[str, str]:
    """The form's fields (the first of each name), from a bounded body."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise InvalidParam("Send the form from this page.")
    body = await read_body(request, MAX_FORM_BYTES, "The form data is too large.")
    try:
        decoded = body.decode("utf-8")
        pairs = parse_qsl(decoded, keep_blank_values=True, max_num_fields=16)
    except (UnicodeDecodeError, ValueError):
        raise InvalidParam("The form data could not be read.") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields


# --- cookies and CSRF ---------------------------------------------------------


def cookie_name(request: Request, base: str) -> str:
    """``__Host-<base>`` over https; plain ``<base>`` over http.

    A browser refuses a ``__Host-`` cookie without ``Secure``, and a ``Secure``
    cookie is not sent over plain http (outside localhost), so on http —
    a test or a development machine — the prefix can't be used. Over https
    (directly or behind the proxy of ``public_baseurl``) it pins the cookie to
    this host, path /, no Domain: a sibling subdomain can't plant one.
    """
    return f"__Host-{base}" if is_https(request) else base


def set_browser_cookie(request: Request, response: Response, base: str, value: str) -> None:
    """A session-lifetime cookie: HttpOnly (no script reads it), SameSite=Lax (no
    cross-site POST carries it, while a link from a client app to the account
    page still does), Secure over https, path /, no Domain."""
    response.set_cookie(
        cookie_name(request, base),
        value,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
    )


def clear_browser_cookie(request: Request, response: Response, base: str) -> None:
    response.delete_cookie(
        cookie_name(request, base),
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
    )


def _csrf_cookie(request: Request) -> str | None:
    value = request.cookies.get(cookie_name(request, "revier_csrf"))
    return value if value and len(value) <= 128 else None


def _set_csrf_cookie(request: Request, response: Response) -> None:
    value = getattr(request.state, "new_csrf_cookie", None)
    if isinstance(value, str):
        set_browser_cookie(request, response, "revier_csrf", value)


def _mac(request: Request, cookie: str) -> str:
    digest = services(request).web_sessions.keyed(f"csrf\x00{cookie}")
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def csrf_token(request: Request, signed: SignedIn | None) -> str:
    """The CSRF token for this browser: bound to the web session's cookie when
    signed in, else to the ``csrf`` cookie (set with this page if new)."""
    session_cookie = request.cookies.get(cookie_name(request, "revier_session"))
    if signed is not None and session_cookie:
        return _mac(request, session_cookie)
    cookie = _csrf_cookie(request) or getattr(request.state, "new_csrf_cookie", None)
    if not isinstance(cookie, str):
        cookie = secrets.token_urlsafe(32)
        request.state.new_csrf_cookie = cookie
    return _mac(request, cookie)


def csrf_field(request: Request, signed: SignedIn | None) -> str:
    """The hidden input every form of these pages carries."""
    return f'<input type="hidden" name="{CSRF_NAME}" value="{csrf_token(request, signed)}">'


async def check_csrf(request: Request, fields: Mapping[str, str]) -> None:
    """Refuses (M_FORBIDDEN) a form that was not sent from a page of ours in this
    browser: a foreign Origin, or a token that matches neither cookie."""
    origin = request.headers.get("origin")
    # "null": what a browser sends under Referrer-Policy no-referrer; the token decides.
    if origin is not None and origin != "null":
        ours = {
            request.headers.get("host", "").lower(),
            urlsplit(services(request).settings.public_baseurl).netloc.lower(),
        }
        if urlsplit(origin).netloc.lower() not in ours:
            raise FormRefused("This form was sent from another site.")
    # As bytes: compare_digest refuses a str with other than ASCII in it.
    sent = fields.get(CSRF_NAME, "").encode("utf-8", "surrogatepass")
    candidates = [
        request.cookies.get(cookie_name(request, "revier_session")),
        _csrf_cookie(request),
    ]
    ok = False
    for cookie in candidates:
        # Every candidate is compared, in constant time.
        if cookie and hmac.compare_digest(_mac(request, cookie).encode(), sent):
            ok = True
    if not ok:
        raise FormRefused("The form has expired. Reload the page and try again.")
