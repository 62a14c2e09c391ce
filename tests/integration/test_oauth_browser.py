"""The OAuth 2.0 sign-in in real Chromium (Playwright, Debian's binary), as an
app drives it: the app registers and opens the authorization URL, the
person signs in on revier's page and consents, the app exchanges the code,
calls whoami, refreshes and revokes — with the authenticator app's code as the
second step. Once with raw HTTP as the app, once with
matrix-js-sdk's OAuth helpers (what Element Web uses) in Node; and the device
grant's verification page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, Page, Route, async_playwright

from tests.integration.conftest import LOOSE_LIMIT, Account, server_fixture
from tests.integration.harness import PASSWORD, RevierProcess
from tests.integration.jsclient import JsClient, JsClientError
from tests.integration.oauth import (
    DEVICE,
    DEVICE_GRANT,
    REVOKE,
    TOKEN,
    Flow,
    callback_params,
    exchange,
    refresh,
    register,
    whoami,
)
from tests.integration.test_signin_page import code, with_totp

pytestmark = pytest.mark.one_engine

CHROMIUM = "/usr/bin/chromium"
# The app's loopback redirect; port 9 (discard): nothing listens, the test
# catches the browser's navigation there instead.
CALLBACK = "http://127.0.0.1:9/callback"

server = server_fixture(
    "oauth-browser",
    tenant_policy={"login": "oauth"},
    ratelimit__login_per_address=LOOSE_LIMIT,
    ratelimit__registration_per_address=LOOSE_LIMIT,
)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        await chromium.close()


@pytest.fixture
async def http(server: RevierProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.local_url, timeout=30) as client:
        yield client


async def sign_in_and_consent(
    page: Page, url: str, user: Account, *, totp_secret: str | None = None
) -> str:
    """Open ``url``, sign in on revier's page (with the authenticator app's code
    where ``totp_secret``), allow; the URL the app gets back."""
    landed: list[str] = []

    async def catch(route: Route) -> None:
        landed.append(route.request.url)
        await route.fulfill(status=200, body="back in the app", content_type="text/plain")

    await page.route(re.compile(r"^http://127\.0\.0\.1:9/"), catch)
    await page.goto(url)
    assert urlsplit(page.url).path == "/_revier/signin"
    await page.fill("#user", user.localpart)
    await page.fill("#password", user.password)
    await page.click("button[type=submit]")
    if totp_secret is not None:
        # The second step; the enrolment spent this code step and the one before.
        await page.fill("#totp", code(totp_secret, 1))
        await page.click("form:has(#totp) button[type=submit]")
    await page.wait_for_selector("#allow")
    assert await page.inner_text("#client") == "Streife App"
    assert await page.inner_text("#redirect-host") == "127.0.0.1"
    await page.click("#allow")
    await page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:9/"))
    assert len(landed) == 1
    return page.url  # with its fragment, which the request to the app doesn't carry


async def test_an_app_signs_in_through_the_browser(
    browser: Browser, http: httpx.AsyncClient, make_user
) -> None:  # type: ignore[no-untyped-def]
    user = make_user("officer")
    server_url = str(http.base_url).rstrip("/")
    async with httpx.AsyncClient(base_url=server_url, timeout=30) as own_browser:
        secret = await with_totp(own_browser, user)  # the officer has an authenticator app
    flow = Flow(await register(http), redirect_uri=CALLBACK, response_mode="fragment")
    page = await browser.new_page(extra_http_headers={"Accept-Language": "de-DE,de;q=0.9"})
    visited: list[str] = []
    page.on("request", lambda request: visited.append(request.url))
    try:
        landed = await sign_in_and_consent(page, server_url + flow.url(), user, totp_secret=secret)
    finally:
        await page.close()
    params = callback_params(landed, fragment=True)
    assert params["state"] == flow.state
    tokens = (await exchange(http, flow, params["code"])).json()
    me = (await whoami(http, tokens["access_token"])).json()
    assert (me["user_id"], me["device_id"]) == (user.user_id, flow.device_id)
    renewed = (await refresh(http, flow.client_id, tokens["refresh_token"])).json()
    assert (await whoami(http, renewed["access_token"])).status_code == 200
    await http.post(
        REVOKE, data={"token": renewed["refresh_token"], "token_type_hint": "refresh_token"}
    )
    assert (await whoami(http, renewed["access_token"])).status_code == 401
    # No password or token ever was in a URL; the code only in the app's redirect
    # (here in its fragment, which no request carries: the spec's advice).
    assert any(url.startswith(CALLBACK) for url in visited)
    for url in visited:
        assert PASSWORD not in url and "password" not in url
        assert params["code"] not in url and tokens["access_token"] not in url


async def test_matrix_js_sdk_signs_in_with_its_oauth_helpers(
    browser: Browser, server: RevierProcess, make_user
) -> None:  # type: ignore[no-untyped-def]
    user = make_user("officer")
    async with JsClient.start() as js:
        begun = await js.call(
            "oauthBegin",
            baseUrl=server.local_url,
            clientName="Streife App",
            clientUri="https://app.streife.test/",
            redirectUri=CALLBACK,
            registeredUri="http://127.0.0.1/callback",
        )
        page = await browser.new_page()
        try:
            landed = await sign_in_and_consent(page, begun["url"], user)
        finally:
            await page.close()
        params = callback_params(landed)
        done = await js.call("oauthComplete", code=params["code"], state=params["state"])
        assert (done["userId"], done["deviceId"]) == (user.user_id, begun["deviceId"])
        assert done["expiresIn"] == 300
        me = await js.call("whoami")
        assert me["userId"] == user.user_id
        assert (await js.call("oauthRefresh"))["rotated"] is True
        assert (await js.call("whoami"))["deviceId"] == begun["deviceId"]
        await js.call("oauthRevoke")
        with pytest.raises(JsClientError, match="M_UNKNOWN_TOKEN"):
            await js.call("whoami")


async def test_a_device_is_signed_in_on_the_verification_page(
    browser: Browser, http: httpx.AsyncClient, make_user
) -> None:  # type: ignore[no-untyped-def]
    user = make_user("officer")
    flow = Flow(await register(http))
    grant = (
        await http.post(DEVICE, data={"client_id": flow.client_id, "scope": flow.scope})
    ).json()
    page = await browser.new_page()
    try:
        await page.goto(grant["verification_uri_complete"])
        await page.fill("#user", user.localpart)
        await page.fill("#password", user.password)
        await page.click("button[type=submit]")
        # Back on the verification page, the code already filled in from the URL.
        await page.wait_for_selector("#user_code")
        assert await page.input_value("#user_code") == grant["user_code"]
        await page.click("button[type=submit]")
        await page.wait_for_selector("#allow")
        assert await page.inner_text("#client") == "Streife App"
        await page.click("#allow")
        await page.wait_for_selector(".done")
    finally:
        await page.close()
    poll = {
        "grant_type": DEVICE_GRANT,
        "device_code": grant["device_code"],
        "client_id": flow.client_id,
    }
    r = await http.post(TOKEN, data=poll)
    assert r.status_code == 200, r.text
    me = (await whoami(http, r.json()["access_token"])).json()
    assert (me["user_id"], me["device_id"]) == (user.user_id, flow.device_id)
