"""What the OAuth 2.0 API lets expire, on a server whose clock the tests move:
access tokens (refreshed, spec "Refresh token grant"), authorization codes,
device codes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import running_server
from tests.integration.harness import RevierProcess
from tests.integration.oauth import (
    DEVICE,
    DEVICE_GRANT,
    TOKEN,
    Flow,
    code_for,
    exchange,
    refresh,
    register,
    sign_in,
    whoami,
)
from tests.integration.test_refresh_login_tokens import move_clock


@pytest.fixture(scope="module")
def clock_file(tmp_root: Path, engine: str) -> Path:
    path = tmp_root / f"oauth-clock-{engine}"
    path.write_text("0")
    return path


@pytest.fixture(scope="module")
def server(
    engine: str, request: pytest.FixtureRequest, tmp_root: Path, clock_file: Path
) -> Iterator[RevierProcess]:
    testing = {"conformance": True, "clock_file": str(clock_file)}
    with running_server(
        engine,
        request,
        tmp_root,
        "oauth-expiry",
        "--conformance-mode",
        testing=testing,
        tenant_policy={"login": "oauth", "oauth_access_token_lifetime": 120},
    ) as server:
        yield server


@pytest.fixture
async def http(server: RevierProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.local_url, timeout=30) as client:
        yield client


async def test_access_tokens_expire_and_are_refreshed(
    http: httpx.AsyncClient, clock_file: Path, make_user
) -> None:  # type: ignore[no-untyped-def]
    flow = Flow(await register(http))
    async with httpx.AsyncClient(base_url=str(http.base_url), timeout=30) as browser:
        await sign_in(browser, make_user("officer"))
        tokens = (await exchange(http, flow, await code_for(browser, flow))).json()
    assert tokens["expires_in"] == 120
    assert (await whoami(http, tokens["access_token"])).status_code == 200
    move_clock(clock_file, 121)
    r = await whoami(http, tokens["access_token"])
    assert (r.status_code, r.json()["errcode"], r.json()["soft_logout"]) == (
        401,
        "M_UNKNOWN_TOKEN",
        True,
    )
    renewed = (await refresh(http, flow.client_id, tokens["refresh_token"])).json()
    assert (await whoami(http, renewed["access_token"])).status_code == 200


async def test_codes_expire(http: httpx.AsyncClient, clock_file: Path, make_user) -> None:  # type: ignore[no-untyped-def]
    flow = Flow(await register(http))
    async with httpx.AsyncClient(base_url=str(http.base_url), timeout=30) as browser:
        await sign_in(browser, make_user("officer"))
        code = await code_for(browser, flow)
    grant = (
        await http.post(DEVICE, data={"client_id": flow.client_id, "scope": flow.scope})
    ).json()
    move_clock(clock_file, 601)
    r = await exchange(http, flow, code)
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")
    poll = {
        "grant_type": DEVICE_GRANT,
        "device_code": grant["device_code"],
        "client_id": flow.client_id,
    }
    r = await http.post(TOKEN, data=poll)
    assert (r.status_code, r.json()["error"]) == (400, "expired_token")


async def test_unused_client_registrations_are_forgotten(
    http: httpx.AsyncClient, clock_file: Path, make_user
) -> None:  # type: ignore[no-untyped-def]
    used = Flow(await register(http))
    async with httpx.AsyncClient(base_url=str(http.base_url), timeout=30) as browser:
        await sign_in(browser, make_user("officer"))
        tokens = (await exchange(http, used, await code_for(browser, used))).json()
    unused = await register(http)
    move_clock(clock_file, 24 * 3600 + 1)
    await register(http)  # registering sweeps what nobody used for a day
    r = await http.post(DEVICE, data={"client_id": unused, "scope": used.scope})
    assert (r.status_code, r.json()["error"]) == (400, "invalid_client")
    # A client with a session stays: its app goes on refreshing.
    assert (await refresh(http, used.client_id, tokens["refresh_token"])).status_code == 200
