"""The request side of the browser session: which user a request's cookie
signs in, the cookie itself, and the way back after signing in (``next``).

The cookie (``__Host-revier_session`` over https, ``revier_session`` on plain
http — see ``page.cookie_name``) holds an opaque random value; the server
keeps only its keyed hash (``services.signin.WebSessions``). It is HttpOnly,
SameSite=Lax, Secure over https, and has no Max-Age: it dies with the
browser, and the server ends it sooner (idle and absolute expiry).
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from revier.api.http import services, tenant
from revier.api.web.page import clear_browser_cookie, cookie_name, set_browser_cookie
from revier.services.signin import SignedIn, WebSession

SIGNIN_PATH = "/_revier/signin"
ACCOUNT_PATH = "/_revier/account"
SESSION_COOKIE = "revier_session"
# A local path and query; longer is not one of ours (an authorization URL with
# its parameters fits many times over).
MAX_NEXT = 4096


def session_cookie(request: Request) -> str | None:
    return request.cookies.get(cookie_name(request, SESSION_COOKIE))


async def web_session(request: Request) -> WebSession | None:
    """This browser's session in any state (pending a second factor, too)."""
    if hasattr(request.state, "revier_web_session"):
        cached: WebSession | None = request.state.revier_web_session
        return cached
    found = await services(request).web_sessions.current(tenant(request), session_cookie(request))
    request.state.revier_web_session = found
    if found is not None:
        request.scope["revier.user_id"] = found.user_id  # for the access log
    return found


async def signed_in(request: Request) -> SignedIn | None:
    """A fully signed-in web session (password, and the second factor where
    enrolled or required), or None."""
    session = await web_session(request)
    return session.signed_in() if session else None


def safe_next(value: str | None, default: str = ACCOUNT_PATH) -> str:
    """``value`` if it is a path on this server, else ``default``.

    Refused: anything with a scheme or host (``https://evil``, ``//evil``),
    backslashes (browsers read ``/\\evil`` as ``//evil``), control characters
    and whitespace (which browsers strip, turning ``/\\t/evil`` into ``//evil``).
    """
    if not value or len(value) > MAX_NEXT or not value.startswith("/"):
        return default
    if value.startswith("//") or "\\" in value:
        return default
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def sign_in_redirect(request: Request, next_path: str) -> Response:
    """303 to the sign-in page; after signing in the browser returns to
    ``next_path`` (a local path with its query)."""
    target = safe_next(next_path)
    return RedirectResponse(
        f"{SIGNIN_PATH}?next={quote(target, safe='')}",
        status_code=303,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def set_session_cookie(request: Request, response: Response, cookie: str) -> None:
    set_browser_cookie(request, response, SESSION_COOKIE, cookie)


def clear_session_cookie(request: Request, response: Response) -> None:
    clear_browser_cookie(request, response, SESSION_COOKIE)
