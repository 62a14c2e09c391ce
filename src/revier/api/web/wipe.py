"""The self-service wipe page: an owner who has lost every device signs them all
out with their password, out of hours, without waiting for the help desk.

A plain HTML form: no script, no template engine, every echoed value escaped.
The password travels only in the POST body (never in a URL, so never in a
log or the browser history), the body is small and bounded, and the page
can't be framed, cached or leak its address onward.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from revier.api.errors import error_headers, status_for
from revier.api.http import client_address, services, tenant
from revier.api.web.page import read_form
from revier.errors import InvalidParam, MatrixError, MissingParam
from revier.services.accounts import OwnerProof, OwnWipe
from revier.services.core import Device

PATH = "/_revier/wipe"

_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.5;color:#1b1b1b}"
    "label{display:block;margin-top:1rem;font-weight:600}"
    "input[type=text],input[type=password]{width:100%;padding:.5rem;font-size:1rem;"
    "box-sizing:border-box}"
    ".confirm{font-weight:normal}"
    "button{margin-top:1.5rem;padding:.6rem 1rem;font-size:1rem;background:#b00020;"
    "color:#fff;border:0;border-radius:4px}"
    ".error{background:#fdecea;border-left:4px solid #b00020;padding:.5rem 1rem}"
    ".done{background:#e8f5e9;border-left:4px solid #2e7d32;padding:.5rem 1rem}"
)
# The one inline style is allowed by its hash: no 'unsafe-inline' anywhere.
_CSS_HASH = base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode()
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        f"style-src 'sha256-{_CSS_HASH}'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}

_TITLE = "Sign out all devices"


async def wipe_form(_request: Request) -> Response:
    """GET /_revier/wipe"""
    return _page(_form())


async def wipe_devices(request: Request) -> Response:
    """POST /_revier/wipe"""
    user = ""
    try:
        fields = await read_form(request)
        user = fields.get("user", "").strip()
        # Two-factor login will read its code field here, into OwnerProof.
        proof = OwnerProof(user=user, password=fields.get("password", ""))
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
        return _page(
            _form(error=e.error, user=user), status=status_for(e), headers=error_headers(e)
        )
    return _page(_done(result))


def _form(*, error: str | None = None, user: str = "") -> str:
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return f"""<h1>{_TITLE}</h1>
<p>Lost your phone or laptop, and no other device is still logged in to your
account? Here you can sign out <strong>all</strong> devices of your account at once.</p>
<p>Each device is logged out and erases its local data (messages and
encryption keys) as soon as it next connects. This can't be undone: to use
the account again, log in anew.</p>
<p>If one of your devices is still logged in, remove the lost one there
instead, under Settings → Sessions.</p>
{problem}
<form method="post" action="wipe" autocomplete="on">
<label for="user">User name</label>
<input type="text" id="user" name="user" value="{escape(user)}" required maxlength="255"
 autocomplete="username" autocapitalize="none" spellcheck="false">
<label for="password">Password</label>
<input type="password" id="password" name="password" required maxlength="1024"
 autocomplete="current-password">
<label class="confirm"><input type="checkbox" name="confirm" value="yes" required>
Sign out all my devices and erase their data</label>
<button type="submit">Sign out all devices</button>
</form>"""


def _done(result: OwnWipe) -> str:
    user = escape(result.user_id)
    if not result.wiped:
        return (
            f'<h1>{_TITLE}</h1><p class="done" role="status">No device was logged in to '
            f"{user}; nothing needed signing out.</p>"
        )
    items = "\n".join(f"<li>{_device_label(d)}</li>" for d in result.wiped)
    return f"""<h1>{_TITLE}</h1>
<p class="done" role="status">All devices of {user} were signed out. Each one
erases its local data as soon as it next connects.</p>
<p>Signed out:</p>
<ul id="wiped">
{items}
</ul>"""


def _device_label(device: Device) -> str:
    name = device.display_name
    if name and name != device.device_id:
        return f"{escape(name)} ({escape(device.device_id)})"
    return escape(device.device_id)


def _page(body: str, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    html = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{_TITLE}</title>
<style>{_CSS}</style>
</head>
<body>
{body}
</body>
</html>
"""
    return HTMLResponse(html, status_code=status, headers={**HEADERS, **(headers or {})})


routes = [
    Route(PATH, wipe_form, methods=["GET"]),
    Route(PATH, wipe_devices, methods=["POST"]),
]
