"""The sign-in and account pages in a real browser (Debian's Chromium driven by
Playwright): signing in and being sent back, signing a device out from the
account page (its waiting /sync ends with M_UNKNOWN_TOKEN), changing the
password, and no password in any URL the browser visits."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.integration.conftest import LOOSE_LIMIT, PASSWORD, server_fixture
from tests.integration.harness import RevierProcess

CHROMIUM = "/usr/bin/chromium"
V3 = "/_matrix/client/v3"
HOST = {"Host": "localhost"}
NEW_PASSWORD = "a new and long passphrase 42"

server = server_fixture("account-pages", ratelimit__login_per_address=LOOSE_LIMIT)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        await chromium.close()


@pytest.fixture
async def http(server: RevierProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=60, headers=HOST) as client:
        yield client


async def new_user(server: RevierProcess, password_hash: str) -> str:
    localpart = f"officer-{secrets.token_hex(3)}"
    server.import_users([localpart], password_hash)
    return localpart


async def log_in(
    http: httpx.AsyncClient, localpart: str, name: str, password: str = PASSWORD
) -> str:
    r = await http.post(
        f"{V3}/login",
        json={
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": localpart},
            "password": password,
            "initial_device_display_name": name,
        },
    )
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


async def sign_in_at(page: Page, url: str, localpart: str, password: str = PASSWORD) -> None:
    """Opens ``url``, which sends an unsigned browser to the sign-in page, and signs in."""
    await page.goto(url)
    assert "/_revier/signin?next=" in page.url
    await page.fill("#user", localpart)
    await page.fill("#password", password)
    await page.click("button[type=submit]")
    await page.wait_for_load_state()


async def test_the_account_page_signs_out_a_waiting_device(
    server: RevierProcess, password_hash: str, browser: Browser, http: httpx.AsyncClient
) -> None:
    localpart = await new_user(server, password_hash)
    phone = await log_in(http, localpart, "Diensthandy <b>")
    who = await http.get(f"{V3}/account/whoami", headers={"Authorization": f"Bearer {phone}"})
    phone_id = who.json()["device_id"]
    laptop = await log_in(http, localpart, "Laptop")
    first = await http.get(f"{V3}/sync", headers={"Authorization": f"Bearer {phone}"})
    since = first.json()["next_batch"]
    # The phone waits in /sync, as an app in the background does.
    waiting = asyncio.create_task(
        http.get(
            f"{V3}/sync",
            params={"since": since, "timeout": "30000"},
            headers={"Authorization": f"Bearer {phone}"},
        )
    )

    context = await browser.new_context(locale="de-DE")
    page = await context.new_page()
    visited: list[str] = []
    page.on("request", lambda request: visited.append(request.url))
    try:
        await sign_in_at(page, f"{server.local_url}/_revier/account", localpart)
        assert page.url.endswith("/_revier/account")
        assert await page.locator("html").get_attribute("lang") == "de"
        table = await page.inner_text("#devices")
        assert "Diensthandy <b>" in table and "Laptop" in table
        assert await page.locator("#devices b").count() == 0

        # As a client opens it (spec: the account management URL with an action).
        await page.goto(
            f"{server.local_url}/_revier/account?action=org.matrix.device_delete&device_id={phone_id}"
        )
        assert "Diensthandy <b>" in await page.inner_text("main")
        await page.goto(f"{server.local_url}/_revier/account")
        await page.click('button[aria-label="Abmelden Diensthandy <b>"]')
        await page.wait_for_load_state()
        assert "Diensthandy" in await page.inner_text("main")
        await page.click("button.danger")
        await page.wait_for_load_state()
        assert "Abgemeldet: Diensthandy <b>" in await page.inner_text("[role=status]")

        answered = await asyncio.wait_for(waiting, 10)
        assert answered.status_code == 401
        assert answered.json()["errcode"] == "M_UNKNOWN_TOKEN"
        assert answered.json()["soft_logout"] is False
        # The other device was left alone.
        r = await http.get(f"{V3}/account/whoami", headers={"Authorization": f"Bearer {laptop}"})
        assert r.status_code == 200
        assert "Diensthandy" not in await page.inner_text("#devices")

        # Sign out all: the laptop goes too.
        await page.click("text=Alle Geräte abmelden")
        await page.wait_for_load_state()
        await page.click("button.danger")
        await page.wait_for_load_state()
        r = await http.get(f"{V3}/account/whoami", headers={"Authorization": f"Bearer {laptop}"})
        assert r.status_code == 401 and r.json()["errcode"] == "M_UNKNOWN_TOKEN"
    finally:
        waiting.cancel()
        await context.close()
    assert all(PASSWORD not in url for url in visited)


async def test_the_owner_changes_the_password(
    server: RevierProcess, password_hash: str, browser: Browser, http: httpx.AsyncClient
) -> None:
    localpart = await new_user(server, password_hash)
    phone = await log_in(http, localpart, "Phone")
    context = await browser.new_context(locale="en-GB")
    elsewhere = await browser.new_context(locale="en-GB")
    page = await context.new_page()
    other = await elsewhere.new_page()
    visited: list[str] = []
    page.on("request", lambda request: visited.append(request.url))
    account = f"{server.local_url}/_revier/account"
    try:
        await sign_in_at(other, account, localpart)
        await sign_in_at(page, account, localpart)
        # A wrong current password changes nothing.
        await page.fill("#old_password", "not my password")
        await page.fill("#new_password", NEW_PASSWORD)
        await page.fill("#repeat_password", NEW_PASSWORD)
        await page.click("text=Change password")
        await page.wait_for_load_state()
        assert "current password is wrong" in await page.inner_text("[role=alert]")
        # Too short for the tenant's policy.
        await page.fill("#old_password", PASSWORD)
        await page.fill("#new_password", "short")
        await page.fill("#repeat_password", "short")
        await page.evaluate("document.querySelector('#new_password').removeAttribute('minlength')")
        await page.click("text=Change password")
        await page.wait_for_load_state()
        assert "not allowed" in await page.inner_text("[role=alert]")

        await page.fill("#old_password", PASSWORD)
        await page.fill("#new_password", NEW_PASSWORD)
        await page.fill("#repeat_password", NEW_PASSWORD)
        await page.click("text=Change password")
        await page.wait_for_load_state()
        assert "password was changed" in await page.inner_text("[role=status]")
        # This browser stays signed in; the other one is signed out.
        await page.goto(account)
        assert page.url == account
        await other.goto(account)
        assert "/_revier/signin?next=" in other.url
    finally:
        await context.close()
        await elsewhere.close()
    assert all(PASSWORD not in url and NEW_PASSWORD not in url for url in visited)
    # Devices were kept (the box was not ticked); the old password is gone.
    r = await http.get(f"{V3}/account/whoami", headers={"Authorization": f"Bearer {phone}"})
    assert r.status_code == 200
    await log_in(http, localpart, "Again", NEW_PASSWORD)
    r = await http.post(
        f"{V3}/login",
        json={"type": "m.login.password", "user": localpart, "password": PASSWORD},
    )
    assert r.status_code == 403


async def test_a_help_desk_password_reset_ends_browser_sessions(
    server: RevierProcess, password_hash: str, browser: Browser
) -> None:
    localpart = await new_user(server, password_hash)
    context = await browser.new_context()
    page = await context.new_page()
    account = f"{server.local_url}/_revier/account"
    try:
        await sign_in_at(page, account, localpart)
        assert page.url == account
        server.admin("user", "reset-password", localpart, "--generate-password")
        await page.goto(account)
        assert "/_revier/signin?next=" in page.url
    finally:
        await context.close()
