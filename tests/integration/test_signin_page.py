"""The sign-in page over raw HTTP, as an attacker would drive it: CSRF, open
redirects through ``next``, the session cookie's attributes, session fixation,
no secret in a URL or a log line, and the protective headers on every answer."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.integration.conftest import LOOSE_LIMIT, Account, server_fixture
from tests.integration.harness import RevierProcess

server = server_fixture("signin", ratelimit__login_per_address=LOOSE_LIMIT)

SIGNIN = "/_revier/signin"
CSP = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
HOST = {"Host": "localhost"}


def assert_protected(r: httpx.Response) -> None:
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["referrer-policy"] == "no-referrer"
    if r.status_code < 300 or r.status_code >= 400:
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-security-policy"].startswith(CSP)
        assert "unsafe" not in r.headers["content-security-policy"]


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


@pytest.fixture
async def browser(server: RevierProcess) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie jar that behaves like a browser on the server's loopback address."""
    async with httpx.AsyncClient(base_url=server.url, timeout=30, headers=HOST) as client:
        yield client


async def sign_in(
    http: httpx.AsyncClient, user: Account, *, next_path: str = "/_revier/account"
) -> httpx.Response:
    form = await http.get(SIGNIN, params={"next": next_path})
    assert form.status_code == 200
    assert_protected(form)
    return await http.post(
        SIGNIN,
        data={
            "user": user.localpart,
            "password": user.password,
            "next": next_path,
            "csrf": csrf_of(form.text),
        },
    )


async def test_signing_in_sets_a_fresh_protected_cookie(
    browser: httpx.AsyncClient, make_user
) -> None:  # type: ignore[no-untyped-def]
    user = make_user("web")
    # A cookie planted before signing in (session fixation) is not adopted.
    host = httpx.URL(str(browser.base_url)).host
    browser.cookies.set("revier_session", "planted-by-attacker", domain=host)
    r = await sign_in(browser, user, next_path="/_revier/account?x=1")
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/_revier/account?x=1"
    assert_protected(r)
    set_cookie = r.headers["set-cookie"]
    assert set_cookie.startswith("revier_session=")
    attributes = set_cookie.lower()
    assert "httponly" in attributes and "samesite=lax" in attributes and "path=/" in attributes
    # Plain http: no Secure (the browser would not send it back) and so no __Host-.
    assert "secure" not in attributes.replace("samesite", "")
    assert "max-age" not in attributes and "domain" not in attributes
    value = browser.cookies.get("revier_session", domain=host)
    assert value and value != "planted-by-attacker"
    # Signed in: the page sends the browser straight on.
    again = await browser.get(SIGNIN, params={"next": "/_revier/account"})
    assert again.status_code == 303 and again.headers["location"] == "/_revier/account"


@pytest.mark.parametrize(
    "hostile",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "/\t/evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        "evil.example",
        "/%0a/evil.example",
    ],
)
async def test_next_never_leaves_the_server(
    browser: httpx.AsyncClient, make_user, hostile: str
) -> None:  # type: ignore[no-untyped-def]
    r = await sign_in(browser, make_user("web"), next_path=hostile)
    assert r.status_code == 303
    location = r.headers["location"]
    assert location.startswith("/") and not location.startswith("//")
    assert "\\" not in location and urlsplit(location).netloc == ""
    # What a browser would make of it: still this server.
    assert urljoin("http://localhost:8008/x", location).startswith("http://localhost:8008/")


async def test_forms_without_the_right_token_are_refused(
    browser: httpx.AsyncClient, make_user
) -> None:  # type: ignore[no-untyped-def]
    user = make_user("web")
    data = {"user": user.localpart, "password": user.password, "next": "/_revier/account"}
    await browser.get(SIGNIN)  # the csrf cookie
    for token in (None, "", "forged", csrf_of((await browser.get(SIGNIN)).text)[:-2] + "AA"):
        fields = dict(data) if token is None else {**data, "csrf": token}
        r = await browser.post(SIGNIN, data=fields)
        assert r.status_code == 403 and 'role="alert"' in r.text
        assert "revier_session" not in r.headers.get("set-cookie", "")
        assert_protected(r)
    # The right token from another site's page: refused by its Origin.
    token = csrf_of((await browser.get(SIGNIN)).text)
    r = await browser.post(
        SIGNIN, data={**data, "csrf": token}, headers={"Origin": "https://evil.example"}
    )
    assert r.status_code == 403
    # A token taken from another browser does not fit this browser's cookie.
    async with httpx.AsyncClient(base_url=browser.base_url, headers=HOST) as other:
        stolen = csrf_of((await other.get(SIGNIN)).text)
    r = await browser.post(SIGNIN, data={**data, "csrf": stolen})
    assert r.status_code == 403


async def test_a_wrong_password_is_an_accessible_error_in_the_browser_s_language(
    browser: httpx.AsyncClient, make_user
) -> None:  # type: ignore[no-untyped-def]
    user = make_user("web")
    form = await browser.get(SIGNIN, headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.8"})
    assert '<html lang="de">' in form.text and "Passwort" in form.text
    r = await browser.post(
        SIGNIN,
        data={"user": user.localpart, "password": "wrong", "csrf": csrf_of(form.text)},
        headers={"Accept-Language": "de"},
    )
    assert r.status_code == 403 and 'role="alert"' in r.text and "falsch" in r.text
    assert "revier_session" not in r.headers.get("set-cookie", "")
    english = await browser.get(SIGNIN, headers={"Accept-Language": "en-GB,de;q=0.5"})
    assert '<html lang="en">' in english.text


async def test_the_form_refuses_what_it_does_not_expect(browser: httpx.AsyncClient) -> None:
    r = await browser.post(SIGNIN, json={"user": "x", "password": "y"})
    assert r.status_code == 400
    r = await browser.post(SIGNIN, data={"user": "x", "password": "y" * 10_000})
    assert r.status_code == 413
    r = await browser.post(
        SIGNIN,
        content=b"\xff\xfe",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400
    assert_protected(r)
