"""Second factors in a real browser (Debian's Chromium driven by Playwright):
enrolling an authenticator app with the QR code's secret and signing in with
its codes, a recovery code that works once, passkeys through Chromium's
virtual authenticator, and the enrolment a tenant's policy "required" forces
at sign-in. No password, code or cookie value reaches a URL or the server log."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pyotp
import pytest
import segno
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from revier.services.signin import totp
from tests.integration.conftest import LOOSE_LIMIT, PASSWORD, running_server
from tests.integration.harness import RevierProcess

CHROMIUM = "/usr/bin/chromium"
# Tests fail codes on purpose; the address (all of them 127.0.0.1) must not be slowed.
POLICY = {"signin_address_failures_before_delay": 10_000}


@pytest.fixture(scope="module")
def server(engine: str, request: pytest.FixtureRequest, tmp_root: Path) -> Iterator[RevierProcess]:
    with running_server(
        engine,
        request,
        tmp_root,
        "factors-optional",
        ratelimit__login_per_address=LOOSE_LIMIT,
        tenant_policy=POLICY,
    ) as started:
        yield started


@pytest.fixture(scope="module")
def strict_server(
    engine: str, request: pytest.FixtureRequest, tmp_root: Path
) -> Iterator[RevierProcess]:
    with running_server(
        engine,
        request,
        tmp_root,
        "factors-required",
        ratelimit__login_per_address=LOOSE_LIMIT,
        tenant_policy={**POLICY, "second_factor": "required"},
    ) as started:
        yield started


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        await chromium.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    made = await browser.new_context(locale="en-GB")
    yield made
    await made.close()


def new_user(server: RevierProcess, password_hash: str) -> str:
    localpart = f"officer-{secrets.token_hex(3)}"
    server.import_users([localpart], password_hash)
    return localpart


async def submit(page: Page, selector: str) -> None:
    await page.click(selector)
    await page.wait_for_load_state()


async def password_step(page: Page, url: str, localpart: str) -> None:
    await page.goto(url)
    assert "/_revier/signin?next=" in page.url
    await page.fill("#user", localpart)
    await page.fill("#password", PASSWORD)
    await submit(page, "button[type=submit]")


def code_after(secret: str, steps: int) -> str:
    """The app's code ``steps`` steps from now (one step ahead is accepted: a code
    works once, so a sign-in right after enrolment uses the next one)."""
    return pyotp.TOTP(secret).at(time.time() + steps * totp.STEP_SECONDS)


async def enrol_totp(page: Page, user_id: str) -> tuple[str, list[str]]:
    """On the QR page: reads the secret, checks the QR code carries it, confirms
    with two codes; the secret and the recovery codes shown."""
    secret = (await page.inner_text("#totp_secret")).replace(" ", "")
    svg = await page.inner_html("svg.qr")
    expected = segno.make(totp.provisioning_uri(secret, user_id, "localhost"), error="m")
    drawn = re.search(r' d="([^"]+)"', expected.svg_inline(scale=4, omitsize=True))
    assert drawn is not None and drawn.group(1) in svg, "the QR code carries the secret"
    await page.fill("#first", code_after(secret, -1))
    await page.fill("#second", code_after(secret, 0))
    await submit(page, "button[type=submit]")
    codes = (await page.inner_text("#recovery_codes")).split()
    assert len(codes) == 10
    return secret, codes


async def sign_out_of_the_page(page: Page) -> None:
    await submit(page, "text=Sign out of this page")
    assert "signed out in this browser" in await page.inner_text("[role=status]")


async def test_authenticator_app_and_recovery_codes(
    server: RevierProcess, password_hash: str, context: BrowserContext
) -> None:
    localpart = new_user(server, password_hash)
    user_id = f"@{localpart}:localhost"
    page = await context.new_page()
    visited: list[str] = []
    page.on("request", lambda request: visited.append(request.url))
    account = f"{server.local_url}/_revier/account"

    # Signed in with the password alone (no factor yet), the officer adds the app.
    await password_step(page, account, localpart)
    assert page.url == account
    await submit(page, "text=Add an authenticator app")
    # Wrong codes: a new secret is shown, nothing is enrolled.
    await page.fill("#first", "000000")
    await page.fill("#second", "000000")
    await submit(page, "button[type=submit]")
    assert "did not match" in await page.inner_text("[role=alert]")
    secret, codes = await enrol_totp(page, user_id)
    await submit(page, "text=Continue")
    assert "Authenticator app" in await page.inner_text("#factors")
    assert "Recovery codes left: 10" in await page.inner_text("#recovery_left")
    await sign_out_of_the_page(page)

    # Password, then the app's code.
    await password_step(page, account, localpart)
    assert "/_revier/signin/factor" in page.url
    # The password alone does not open the account page.
    await page.goto(account)
    assert "/_revier/signin?next=" in page.url
    await page.goto(f"{server.local_url}/_revier/signin/factor?next=/_revier/account")
    await page.fill("#totp", "123456" if code_after(secret, 1) != "123456" else "654321")
    await submit(page, "#totp ~ button")
    assert "code is not right" in await page.inner_text("[role=alert]")
    await page.fill("#totp", code_after(secret, 1))
    await submit(page, "#totp ~ button")
    assert page.url == account
    await sign_out_of_the_page(page)

    # A recovery code works once.
    for attempt in range(2):
        await password_step(page, account, localpart)
        await page.fill("#recovery_code", codes[0].upper().replace("-", " "))
        await submit(page, "#recovery_code ~ button")
        if attempt == 0:
            assert page.url == account
            assert "Recovery codes left: 9" in await page.inner_text("#recovery_left")
            await sign_out_of_the_page(page)
        else:
            assert "code is not right" in await page.inner_text("[role=alert]")
    # Another one still works.
    await page.fill("#recovery_code", codes[1])
    await submit(page, "#recovery_code ~ button")
    assert page.url == account

    # Removing the app asks for the password.
    await submit(page, "text=Remove")
    await page.fill("#password", "wrong password")
    await submit(page, "button.danger")
    assert "password is wrong" in await page.inner_text("[role=alert]")
    await page.fill("#password", PASSWORD)
    await submit(page, "button.danger")
    assert "removed" in await page.inner_text("[role=status]")

    everything = "\n".join(visited)
    assert PASSWORD not in everything and secret not in everything
    assert not any(code in everything for code in codes)
    log = server.log_path.read_text()
    assert PASSWORD not in log and secret not in log
    assert not any(code in log for code in codes)
    assert "revier_session=" not in log


async def test_passkey_with_the_virtual_authenticator(
    server: RevierProcess, password_hash: str, context: BrowserContext
) -> None:
    localpart = new_user(server, password_hash)
    page = await context.new_page()
    cdp = await context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable")
    await cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    # WebAuthn allows plain http only on localhost: the origin is http://localhost:<port>.
    account = f"{server.local_url}/_revier/account"
    await password_step(page, account, localpart)
    await page.fill("#passkey_name", "Dienst-Schlüssel <b>")
    async with page.expect_navigation():
        await page.click("#passkey")
    assert "passkey was added" in await page.inner_text("[role=status]")
    assert "Dienst-Schlüssel <b>" in await page.inner_text("#factors")
    await sign_out_of_the_page(page)

    await password_step(page, account, localpart)
    assert "/_revier/signin/factor" in page.url
    async with page.expect_navigation():
        await page.click("#passkey")
    assert page.url == account
    assert "Dienst-Schlüssel" in await page.inner_text("#factors")


async def test_required_policy_forces_enrolment_at_sign_in(
    strict_server: RevierProcess, password_hash: str, context: BrowserContext
) -> None:
    localpart = new_user(strict_server, password_hash)
    page = await context.new_page()
    account = f"{strict_server.local_url}/_revier/account"
    await password_step(page, account, localpart)
    assert "/_revier/signin/enrol?next=" in page.url
    assert "requires a second factor" in await page.inner_text("main")
    # Not signed in until a factor is enrolled.
    await page.goto(account)
    assert "/_revier/signin?next=" in page.url
    await page.go_back()
    await submit(page, "text=Use an authenticator app")
    secret, _ = await enrol_totp(page, f"@{localpart}:localhost")
    await submit(page, "text=Continue")
    assert page.url == account
    await sign_out_of_the_page(page)
    # From now on the code is asked for.
    await password_step(page, account, localpart)
    assert "/_revier/signin/factor" in page.url
    await page.fill("#totp", code_after(secret, 1))
    await submit(page, "#totp ~ button")
    assert page.url == account
