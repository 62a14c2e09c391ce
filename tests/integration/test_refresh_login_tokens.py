"""Refresh tokens (spec "Refreshing access tokens") and m.login.token login
tokens (POST /login/get_token), on a server whose clock the tests move."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from nio import AsyncClient, LoginResponse

from tests.integration.conftest import LOOSE_LIMIT, Account, running_server
from tests.integration.harness import INITIAL_ADMIN_PASSWORD, RevierProcess
from tests.integration.steps import V3, Session

LIFETIME_S = 600
PASSWORD_LOGIN = "m.login.password"


@pytest.fixture(scope="module")
def clock_file(tmp_root: Path, engine: str) -> Path:
    path = tmp_root / f"tokens-clock-{engine}"
    path.write_text("0")
    return path


def move_clock(clock_file: Path, seconds: float) -> None:
    """The server's clock ``seconds`` further on (the file holds an offset in ms)."""
    now = int(clock_file.read_text() or "0")
    clock_file.write_text(str(now + int(seconds * 1000)))
    time.sleep(0.05)  # a new mtime the server notices


@pytest.fixture(scope="module")
def server(
    engine: str, request: pytest.FixtureRequest, tmp_root: Path, clock_file: Path
) -> Iterator[RevierProcess]:
    """Tokens expire after ten minutes when the client asks for refresh tokens;
    ``other.test`` keeps lasting tokens; ``closed.test`` has no login tokens."""
    testing = {"conformance": True, "clock_file": str(clock_file)}
    with running_server(
        engine,
        request,
        tmp_root,
        "tokens",
        "--conformance-mode",
        testing=testing,
        tenant_policy={"access_token_lifetime": LIFETIME_S, "max_devices_per_user": 2},
        extra_tenants=("other.test", ("closed.test", {"login_token": False})),
        ratelimit__login_per_address=LOOSE_LIMIT,
    ) as server:
        yield server


@pytest.fixture
async def http(server: RevierProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.local_url, timeout=30) as client:
        yield client


async def login(
    http: httpx.AsyncClient, account: Account, *, refresh: bool | None = True, **extra: Any
) -> httpx.Response:
    body: dict[str, Any] = {
        "type": PASSWORD_LOGIN,
        "identifier": {"type": "m.id.user", "user": account.user_id},
        "password": account.password,
        **extra,
    }
    if refresh is not None:
        body["refresh_token"] = refresh
    return await http.post(f"{V3}/login", json=body)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def whoami(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.get(f"{V3}/account/whoami", headers=bearer(token))


async def refresh(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.post(f"{V3}/refresh", json={"refresh_token": token})


def unknown(r: httpx.Response, *, soft_logout: bool) -> bool:
    body = r.json()
    return (r.status_code, body["errcode"], body.get("soft_logout")) == (
        401,
        "M_UNKNOWN_TOKEN",
        soft_logout,
    )


async def test_refresh_token_life(http: httpx.AsyncClient, make_user, clock_file: Path) -> None:
    anna = make_user("anna")
    # Without asking: a lasting token, as before.
    r = await login(http, anna, refresh=None)
    assert "refresh_token" not in r.json() and "expires_in_ms" not in r.json()
    lasting = r.json()["access_token"]

    r = await login(http, anna)
    body = r.json()
    assert body["expires_in_ms"] == LIFETIME_S * 1000
    access, refresh_1 = body["access_token"], body["refresh_token"]
    assert (await whoami(http, access)).status_code == 200

    move_clock(clock_file, LIFETIME_S + 1)
    assert unknown(await whoami(http, access), soft_logout=True)
    assert (await whoami(http, lasting)).status_code == 200
    # A refresh token is no access token, nor the reverse.
    assert unknown(await whoami(http, refresh_1), soft_logout=False)
    assert unknown(await refresh(http, access), soft_logout=False)

    # The answer got lost: the same refresh token works again while the new
    # pair is unused, and the pair it gave first is then void.
    lost = (await refresh(http, refresh_1)).json()
    r = await refresh(http, refresh_1)
    assert r.status_code == 200, r.text
    pair = r.json()
    assert pair["expires_in_ms"] == LIFETIME_S * 1000
    assert unknown(await whoami(http, lost["access_token"]), soft_logout=False)
    assert unknown(await refresh(http, lost["refresh_token"]), soft_logout=False)

    # The new access token's first use spends the old refresh token.
    assert (await whoami(http, pair["access_token"])).json()["user_id"] == anna.user_id
    assert unknown(await refresh(http, refresh_1), soft_logout=False)
    # The new refresh token goes on working; each use spends the one before.
    r = await refresh(http, pair["refresh_token"])
    assert r.status_code == 200
    third = r.json()
    assert unknown(await whoami(http, pair["access_token"]), soft_logout=False)
    r = await refresh(http, third["refresh_token"])
    assert r.status_code == 200
    assert unknown(await refresh(http, pair["refresh_token"]), soft_logout=False)


async def test_refresh_tokens_die_with_the_device(http: httpx.AsyncClient, make_user) -> None:
    anna = make_user("anna")
    first = (await login(http, anna)).json()
    second = (await login(http, anna)).json()
    # Deleting the first device (behind the password) ends its refresh token.
    auth = {
        "type": PASSWORD_LOGIN,
        "identifier": {"type": "m.id.user", "user": anna.user_id},
        "password": anna.password,
    }
    url = f"{V3}/devices/{first['device_id']}"
    r = await http.request("DELETE", url, headers=bearer(second["access_token"]), json={})
    session = r.json()["session"]
    r = await http.request(
        "DELETE",
        url,
        headers=bearer(second["access_token"]),
        json={"auth": {**auth, "session": session}},
    )
    assert r.status_code == 200, r.text
    assert unknown(await refresh(http, first["refresh_token"]), soft_logout=False)
    assert unknown(await whoami(http, first["access_token"]), soft_logout=False)
    # Logging out ends the device's refresh token.
    r = await http.post(f"{V3}/logout", headers=bearer(second["access_token"]), json={})
    assert r.status_code == 200
    assert unknown(await refresh(http, second["refresh_token"]), soft_logout=False)
    # Logging in again as a known device replaces its tokens.
    third = (await login(http, anna)).json()
    again = (await login(http, anna, device_id=third["device_id"])).json()
    assert unknown(await refresh(http, third["refresh_token"]), soft_logout=False)
    assert (await refresh(http, again["refresh_token"])).status_code == 200


async def test_refresh_token_of_a_deactivated_account(
    server: RevierProcess, http: httpx.AsyncClient, make_user
) -> None:
    anna = make_user("anna")
    tokens = (await login(http, anna)).json()
    server.admin("user", "deactivate", anna.user_id)
    assert unknown(await refresh(http, tokens["refresh_token"]), soft_logout=False)


async def test_refresh_bad_requests(http: httpx.AsyncClient) -> None:
    r = await http.post(f"{V3}/refresh", json={})
    assert (r.status_code, r.json()["errcode"]) == (400, "M_MISSING_PARAM")
    r = await http.post(f"{V3}/refresh", json={"refresh_token": 5})
    assert (r.status_code, r.json()["errcode"]) == (400, "M_BAD_JSON")
    assert unknown(await refresh(http, "rvrt_made-up"), soft_logout=False)


async def get_login_token(http: httpx.AsyncClient, account: Account, token: str) -> str:
    r = await http.post(f"{V3.replace('v3', 'v1')}/login/get_token", headers=bearer(token), json={})
    assert r.status_code == 401, r.text
    auth = {
        "type": PASSWORD_LOGIN,
        "identifier": {"type": "m.id.user", "user": account.user_id},
        "password": account.password,
        "session": r.json()["session"],
    }
    r = await http.post(
        f"{V3.replace('v3', 'v1')}/login/get_token", headers=bearer(token), json={"auth": auth}
    )
    assert r.status_code == 200, r.text
    assert r.json()["expires_in_ms"] == 120_000
    return str(r.json()["login_token"])


async def token_login(http: httpx.AsyncClient, token: str, **headers: str) -> httpx.Response:
    return await http.post(
        f"{V3}/login", json={"type": "m.login.token", "token": token}, headers=headers
    )


async def test_login_token_signs_in_a_new_device_once(
    server: RevierProcess, http: httpx.AsyncClient, make_user, clock_file: Path
) -> None:
    anna = make_user("anna")
    first = (await login(http, anna, refresh=None)).json()
    flows = (await http.get(f"{V3}/login")).json()["flows"]
    assert {"type": "m.login.token", "get_login_token": True} in flows
    caps = (await http.get(f"{V3}/capabilities", headers=bearer(first["access_token"]))).json()
    assert caps["capabilities"]["m.get_login_token"] == {"enabled": True}

    token = await get_login_token(http, anna, first["access_token"])
    # A login token is no access token.
    assert unknown(await whoami(http, token), soft_logout=False)
    # matrix-nio logs the new device in with it.
    client = AsyncClient(server.local_url, anna.user_id)
    try:
        response = await client.login(token=token)
        assert isinstance(response, LoginResponse), response
        assert response.device_id != first["device_id"]
    finally:
        await client.close()
    # Once only.
    r = await token_login(http, token)
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")

    # The device limit (2) holds: a third device is refused, the token kept.
    token = await get_login_token(http, anna, first["access_token"])
    r = await token_login(http, token)
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    assert "device" in r.json()["error"].lower()
    r = await http.post(f"{V3}/logout", headers=bearer(first["access_token"]), json={})
    r = await token_login(http, token)
    assert r.status_code == 200, r.text

    # Two minutes later a token is void.
    login_as = (await login(http, make_user("bert"), refresh=None)).json()
    bert_token = await get_login_token(
        http,
        Account(login_as["user_id"], "", "correct horse battery staple"),
        login_as["access_token"],
    )
    move_clock(clock_file, 121)
    r = await token_login(http, bert_token)
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")


async def test_login_tokens_stay_in_their_tenant(http: httpx.AsyncClient, make_user) -> None:
    anna = make_user("anna")
    session = (await login(http, anna, refresh=None)).json()
    token = await get_login_token(http, anna, session["access_token"])
    # Another tenant's host doesn't know the token: it is no one's there.
    r = await token_login(http, token, Host="other.test")
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    # The refusal didn't spend it: it still works at home.
    r = await token_login(http, token)
    assert (r.status_code, r.json()["user_id"]) == (200, anna.user_id)


async def test_login_token_on_a_tenant_without_them(http: httpx.AsyncClient) -> None:
    host = {"Host": "closed.test"}
    r = await http.post(
        f"{V3}/login",
        headers=host,
        json={
            "type": PASSWORD_LOGIN,
            "identifier": {"type": "m.id.user", "user": "@admin:closed.test"},
            "password": INITIAL_ADMIN_PASSWORD,
            "refresh_token": True,
        },
    )
    assert r.status_code == 200, r.text
    # closed.test lets tokens last: no refresh token, whatever the client asks.
    assert "refresh_token" not in r.json()
    s = Session(r.json()["user_id"], r.json()["device_id"], r.json()["access_token"], "closed.test")
    flows = (await http.get(f"{V3}/login", headers=host)).json()["flows"]
    assert flows == [{"type": PASSWORD_LOGIN}]
    caps = (await http.get(f"{V3}/capabilities", headers=s.headers)).json()
    assert caps["capabilities"]["m.get_login_token"] == {"enabled": False}
    r = await http.post("/_matrix/client/v1/login/get_token", headers=s.headers, json={})
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    r = await token_login(http, "rvlt_whatever", **host)
    assert (r.status_code, r.json()["errcode"]) == (400, "M_UNKNOWN")


async def test_a_login_token_issued_before_a_lock_opens_nothing_after_it(
    http: httpx.AsyncClient, make_user
) -> None:
    """The lockout (issue 19) can't be stepped around with a token from before it."""
    carl = make_user("carl")
    first = (await login(http, carl, refresh=None)).json()
    token = await get_login_token(http, carl, first["access_token"])
    admin = await login(http, Account("@admin:localhost", "", INITIAL_ADMIN_PASSWORD))
    path = f"/_revier/admin/v1/users/{carl.user_id}/lock"
    headers = bearer(admin.json()["access_token"])
    assert (await http.put(path, json={"locked": True}, headers=headers)).status_code == 200
    r = await token_login(http, token)
    assert (r.status_code, r.json()["errcode"]) == (401, "M_USER_LOCKED")
