"""The self-service wipe page in a real browser (Debian's Chromium driven by
Playwright): a wrong password wipes nothing, the right one signs every device
out, the password never reaches a URL, and the page's protective headers."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import AsyncIterator

import httpx
import pytest
from nio import AsyncClient, LoginResponse, SyncResponse
from playwright.async_api import Browser, Page, async_playwright

from tests.integration.conftest import PASSWORD
from tests.integration.harness import RevierProcess

pytestmark = pytest.mark.one_engine

CHROMIUM = "/usr/bin/chromium"
HEADERS = {
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
CSP = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
# Typed by an attacker into the user name field: it must come back as text.
HOSTILE = '"><script>document.title="owned"</script>'
DEVICE_NAME = '<b>Dienst</b>handy & "Streife"'


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        await chromium.close()


def assert_protected(headers: dict[str, str]) -> None:
    for name, value in HEADERS.items():
        assert headers.get(name) == value, name
    # A hash may allow the page's one inline style; nothing else is allowed.
    assert headers["content-security-policy"].startswith(CSP)
    assert "unsafe" not in headers["content-security-policy"]
    assert headers["content-type"].startswith("text/html")


async def submit(page: Page, user: str, password: str) -> int:
    await page.fill("#user", user)
    await page.fill("#password", password)
    await page.check("input[name=confirm]")
    async with page.expect_response(lambda r: r.request.method == "POST") as posted:
        await page.click("button[type=submit]")
    response = await posted.value
    await page.wait_for_load_state()
    assert_protected(await response.all_headers())
    return response.status


async def test_the_owner_wipes_all_devices_in_a_browser(
    org_server: RevierProcess, password_hash: str, browser: Browser
) -> None:
    tag = secrets.token_hex(3)
    localpart, admin_localpart = f"wiper-{tag}", f"wipeadmin-{tag}"
    lines = "".join(
        json.dumps({"localpart": lp, "password_hash": password_hash, "admin": admin}) + "\n"
        for lp, admin in ((localpart, False), (admin_localpart, True))
    )
    org_server.admin("user", "import", "-", input_text=lines)
    user_id = f"@{localpart}:localhost"
    phone = AsyncClient(org_server.local_url, user_id)
    try:
        await wipe_in_browser(org_server, browser, phone, admin_localpart)
    finally:
        await phone.close()


async def wipe_in_browser(
    org_server: RevierProcess, browser: Browser, phone: AsyncClient, admin_localpart: str
) -> None:
    user_id = phone.user  # the ID it logs in as (user_id is set by the login)
    localpart = user_id[1:].split(":")[0]
    login = await phone.login(PASSWORD, device_name=DEVICE_NAME)
    assert isinstance(login, LoginResponse), login

    page = await browser.new_page()
    visited: list[str] = []
    page.on("request", lambda request: visited.append(request.url))
    try:
        response = await page.goto(f"{org_server.local_url}/_revier/wipe")
        assert response is not None and response.status == 200
        assert_protected(await response.all_headers())
        assert "erases its local data" in await page.inner_text("body")

        # A wrong password: refused, nothing wiped.
        assert await submit(page, localpart, "not the password") == 403
        assert "Wrong user name or password" in await page.inner_text(".error")
        assert isinstance(await phone.sync(timeout=0), SyncResponse)

        # Whatever is typed comes back as text, never as markup.
        assert await submit(page, HOSTILE, "not the password") == 403
        assert await page.input_value("#user") == HOSTILE
        assert await page.locator("script").count() == 0
        assert await page.title() != "owned"

        # The right password: every device is signed out and listed.
        assert await submit(page, localpart, PASSWORD) == 200
        wiped = await page.inner_text("#wiped")
        assert phone.device_id in wiped and DEVICE_NAME in wiped
        assert await page.locator("#wiped b").count() == 0
    finally:
        await page.close()

    assert visited and all(PASSWORD not in url and "password" not in url for url in visited)
    async with httpx.AsyncClient(base_url=org_server.url, timeout=30) as http:
        r = await http.get(
            "/_matrix/client/v3/sync",
            headers={"Host": "localhost", "Authorization": f"Bearer {phone.access_token}"},
        )
        assert (r.status_code, r.json()["errcode"], r.json()["soft_logout"]) == (
            401,
            "M_UNKNOWN_TOKEN",
            False,
        )
        r = await http.post(
            "/_matrix/client/v3/login",
            json={"type": "m.login.password", "user": admin_localpart, "password": PASSWORD},
            headers={"Host": "localhost"},
        )
        admin = {"Host": "localhost", "Authorization": f"Bearer {r.json()['access_token']}"}
        r = await http.get(
            "/_revier/admin/v1/audit",
            params={"target": f"{user_id}/{phone.device_id}", "action": "device.wiped"},
            headers=admin,
        )
        entries = r.json()["entries"]
        assert [(e["actor"], e["details"]) for e in entries] == [(user_id, {"self_service": True})]


async def test_the_wipe_form_refuses_what_it_does_not_expect(org_server: RevierProcess) -> None:
    async with httpx.AsyncClient(base_url=org_server.url, timeout=30) as http:
        url, host = "/_revier/wipe", {"Host": "localhost"}
        form = await http.get(url, headers=host)
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        token = {"csrf": csrf.group(1)}
        # JSON, an oversized body, and missing fields: a 4xx page, never a 500.
        r = await http.post(url, json={"user": "x", "password": "y"}, headers=host)
        assert r.status_code == 400 and r.headers["cache-control"] == "no-store"
        r = await http.post(url, data={"user": "x", "password": "y" * 10_000}, headers=host)
        assert r.status_code == 413
        # Without the form's token (a cross-site post): refused before anything else.
        r = await http.post(url, data={"user": "x", "password": "y"}, headers=host)
        assert r.status_code == 403 and 'role="alert"' in r.text
        r = await http.post(url, data={"user": "x", **token}, headers=host)
        assert r.status_code == 400
        r = await http.post(url, data={"user": "x", "password": "y", **token}, headers=host)
        assert r.status_code == 400 and "Tick the box" in r.text
        r = await http.post(
            url,
            content=b"\xff\xfe",
            headers={**host, "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert r.status_code == 400
