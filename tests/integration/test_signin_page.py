"""The sign-in page over raw HTTP, as an attacker would drive it: CSRF, open
redirects through ``next``, the session cookie's attributes, session fixation,
no secret in a URL or a log line, and the protective headers on every answer."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from urllib.parse import urljoin, urlsplit

import httpx
import pyotp
import pytest

from tests.integration.conftest import LOOSE_LIMIT, Account, server_fixture
from tests.integration.harness import RevierProcess

# A lock after five wrong codes, and no delays before it (the test would wait);
# all tests come from one address, which must not be slowed either.
server = server_fixture(
    "signin",
    ratelimit__login_per_address=LOOSE_LIMIT,
    tenant_policy={
        "signin_failures_before_lock": 5,
        "signin_failures_before_delay": 100,
        "signin_address_failures_before_delay": 10_000,
    },
)

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
    last = csrf_of((await browser.get(SIGNIN)).text)
    for token in (None, "", "forged", "fälschung\U0001f600", last[:-2] + "AA"):
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


# --- the second step ---------------------------------------------------------------


def session_of(http: httpx.AsyncClient) -> str | None:
    host = httpx.URL(str(http.base_url)).host
    return http.cookies.get("revier_session", domain=host)


async def with_totp(http: httpx.AsyncClient, user: Account) -> str:
    """Signs in (no factor yet), enrols an authenticator app, signs out; the secret."""
    assert (await sign_in(http, user)).status_code == 303
    account = await http.get("/_revier/account")
    started = await http.post("/_revier/account/factors/totp", data={"csrf": csrf_of(account.text)})
    assert started.status_code == 200
    assert_protected(started)
    found = re.search(r'id="totp_secret" class="codes">([^<]+)<', started.text)
    assert found
    secret = found.group(1).replace(" ", "")
    done = await http.post(
        "/_revier/account/factors/totp",
        data={
            "csrf": csrf_of(started.text),
            "first": code(secret, -1),
            "second": code(secret, 0),
        },
    )
    assert done.status_code == 200 and 'id="recovery_codes"' in done.text
    r = await http.post("/_revier/signout", data={"csrf": csrf_of(account.text)})
    assert r.status_code == 200
    return secret


def code(secret: str, steps: int) -> str:
    return pyotp.TOTP(secret).at(time.time() + steps * 30)


async def test_the_second_step_needs_the_first_and_rotates_the_cookie(
    browser: httpx.AsyncClient, make_user
) -> None:  # type: ignore[no-untyped-def]
    user = make_user("web")
    secret = await with_totp(browser, user)
    r = await sign_in(browser, user)
    assert r.status_code == 303 and r.headers["location"].startswith("/_revier/signin/factor?")
    pending = session_of(browser)
    assert pending
    # Half signed in: no account page, no enrolling a factor of one's own instead.
    r = await browser.get("/_revier/account")
    assert r.status_code == 303 and r.headers["location"].startswith(SIGNIN)
    form = await browser.get(r.headers["location"])
    token = csrf_of(form.text)
    r = await browser.post("/_revier/signin/enrol/totp", data={"csrf": token})
    assert r.status_code == 303 and r.headers["location"].startswith(SIGNIN)
    r = await browser.post("/_revier/signin/enrol/webauthn/options", json={"csrf": token})
    assert r.status_code == 403
    r = await browser.post("/_revier/account/factors/webauthn/options", json={"csrf": token})
    assert r.status_code == 403
    # The code: a new cookie value; the pending one is dead.
    factor = await browser.get("/_revier/signin/factor", params={"next": "/_revier/account"})
    assert factor.status_code == 200
    assert_protected(factor)
    r = await browser.post(
        "/_revier/signin/factor",
        data={"csrf": csrf_of(factor.text), "totp": code(secret, 1), "next": "/_revier/account"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/_revier/account"
    complete = session_of(browser)
    assert complete and complete != pending
    assert (await browser.get("/_revier/account")).status_code == 200
    async with httpx.AsyncClient(base_url=browser.base_url, headers=HOST) as other:
        host = httpx.URL(str(browser.base_url)).host
        other.cookies.set("revier_session", pending, domain=host)
        r = await other.get("/_revier/account")
        assert r.status_code == 303


async def test_brute_forcing_the_code_locks_the_account(
    browser: httpx.AsyncClient, make_user, server: RevierProcess
) -> None:  # type: ignore[no-untyped-def]
    user = make_user("web")
    secret = await with_totp(browser, user)
    await sign_in(browser, user)
    statuses = []
    for guess in range(6):
        factor = await browser.get("/_revier/signin/factor")
        if factor.status_code != 200:
            statuses.append(factor.status_code)
            break
        wrong = f"{guess:06d}" if f"{guess:06d}" != code(secret, 0) else "999999"
        r = await browser.post(
            "/_revier/signin/factor", data={"csrf": csrf_of(factor.text), "totp": wrong}
        )
        statuses.append(r.status_code)
    # Five refusals, the fifth locks the account: the half-made session is gone.
    assert statuses == [403] * 5 + [303], statuses
    r = await browser.post(
        "/_matrix/client/v3/login",
        json={"type": "m.login.password", "user": user.localpart, "password": user.password},
    )
    assert r.status_code == 401 and r.json()["errcode"] == "M_USER_LOCKED"
    again = await sign_in(browser, user)
    assert again.status_code == 401 and "locked" in again.text


async def test_the_wipe_page_asks_for_the_code(browser: httpx.AsyncClient, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user("web")
    secret = await with_totp(browser, user)
    login = await browser.post(
        "/_matrix/client/v3/login",
        json={"type": "m.login.password", "user": user.localpart, "password": user.password},
    )
    token = login.json()["access_token"]
    form = await browser.get("/_revier/wipe")
    base = {
        "csrf": csrf_of(form.text),
        "user": user.localpart,
        "password": user.password,
        "confirm": "yes",
    }
    r = await browser.post("/_revier/wipe", data=base)
    assert r.status_code == 403 and "second factor" in r.text
    r = await browser.post("/_revier/wipe", data={**base, "code": "000000"})
    assert r.status_code == 403 and "wrong" in r.text
    whoami = "/_matrix/client/v3/account/whoami"
    assert (
        await browser.get(whoami, headers={"Authorization": f"Bearer {token}"})
    ).status_code == 200
    r = await browser.post("/_revier/wipe", data={**base, "code": code(secret, 1)})
    assert r.status_code == 200 and 'id="wiped"' in r.text
    assert (
        await browser.get(whoami, headers={"Authorization": f"Bearer {token}"})
    ).status_code == 401


async def test_json_endpoints_and_the_script(browser: httpx.AsyncClient) -> None:
    form = await browser.get(SIGNIN)
    for path in (
        "/_revier/signin/webauthn/options",
        "/_revier/signin/webauthn",
        "/_revier/signin/enrol/webauthn",
        "/_revier/account/factors/webauthn",
    ):
        r = await browser.post(path, json={})  # no CSRF token
        assert r.status_code == 403, path
        r = await browser.post(path, data={"csrf": csrf_of(form.text)})  # not JSON
        assert r.status_code == 400 and r.json()["errcode"] == "M_NOT_JSON", path
        r = await browser.post(
            path, content=b"[" * 70_000, headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 413, path
        r = await browser.post(path, json={"csrf": csrf_of(form.text), "credential": "x"})
        assert r.status_code in (400, 403), path
    r = await browser.get("/_revier/static/webauthn.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert r.headers["x-content-type-options"] == "nosniff"


async def test_every_page_has_the_headers(browser: httpx.AsyncClient, make_user) -> None:  # type: ignore[no-untyped-def]
    paths = [
        SIGNIN,
        "/_revier/signin/factor",
        "/_revier/signin/enrol",
        "/_revier/account",
        "/_revier/wipe",
    ]
    for path in paths:
        assert_protected(await browser.get(path))
    # A client's account management link survives signing in, action and all.
    r = await browser.get(
        "/_revier/account", params={"action": "org.matrix.device_delete", "device_id": "ABC"}
    )
    assert r.status_code == 303
    assert r.headers["location"] == (
        "/_revier/signin?next=%2F_revier%2Faccount%3Faction%3Dorg.matrix.device_delete"
        "%26device_id%3DABC"
    )
    await sign_in(browser, make_user("web"))
    account = await browser.get("/_revier/account")
    assert account.status_code == 200
    assert_protected(account)
    csp = account.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe" not in csp
    assert re.search(r"<script(?![^>]*\bsrc=)", account.text) is None  # no inline script


async def test_odd_input_is_never_a_server_error(browser: httpx.AsyncClient, make_user) -> None:  # type: ignore[no-untyped-def]
    """Every form of the pages, signed in and not, with what no browser sends:
    a 4xx or a page, never a 5xx."""
    odd = [
        "\x00",
        "a\x00b",
        "%ED%A0%80",
        "\ud800".encode("utf-8", "surrogatepass").decode("latin-1"),
        "ä" * 300,
        "@:",
        "@x:other.test",
        " ",
        "9" * 7,
    ]
    forms = [
        SIGNIN,
        "/_revier/signin/factor",
        "/_revier/signin/enrol/totp",
        "/_revier/signout",
        "/_revier/wipe",
        "/_revier/account/devices/signout",
        "/_revier/account/password",
        "/_revier/account/factors/totp",
        "/_revier/account/factors/remove",
        "/_revier/account/factors/recovery",
    ]
    names = [
        "user",
        "password",
        "next",
        "totp",
        "recovery_code",
        "first",
        "second",
        "code",
        "device_id",
        "all",
        "confirm",
        "old_password",
        "new_password",
        "repeat_password",
        "factor_id",
    ]
    for signed_in in (False, True):
        for path in forms:
            if signed_in:  # afresh for each form: wrong passwords lock, signout ends
                browser.cookies.clear()
                await sign_in(browser, make_user("web"))
            page = await browser.get("/_revier/account" if signed_in else SIGNIN)
            token = csrf_of(page.text) if page.status_code == 200 else ""
            for value in odd:
                data = {name: value for name in names} | {"csrf": token}
                r = await browser.post(path, data=data)
                assert r.status_code < 500, (path, value, r.text[-500:])
