"""Joining the organisation: registration tokens, guests, and closed registration."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from nio import AsyncClient, RegisterResponse

from tests.integration.conftest import PASSWORD, Account, nio_login, server_fixture
from tests.integration.harness import RevierProcess

V3 = "/_matrix/client/v3"
REGISTER = f"{V3}/register"
VALIDITY = "/_matrix/client/v1/register/m.login.registration_token/validity"
TOKEN = "m.login.registration_token"


# A tenant that registers with tokens and allows guests; default rate limits.
open_server = server_fixture(
    "registration", tenant_policy={"registration": "token", "guest_access": True}
)


@pytest.fixture
async def reg_http(open_server: RevierProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=open_server.url, timeout=60) as client:
        yield client


def new_token(server: RevierProcess, *args: str) -> tuple[str, str]:
    """(token_id, token) from ``revier admin registration-token create``."""
    out = server.admin("registration-token", "create", *args)
    token_id = re.search(r"token_id:\s+(\S+)", out)
    token = re.search(r"^token:\s+(\S+)", out, re.MULTILINE)
    assert token_id and token, out
    return token_id.group(1), token.group(1)


def completed(server: RevierProcess, token_id: str) -> tuple[int, int]:
    out = server.admin("registration-token", "show", token_id)
    done = re.search(r"completed:\s+(\d+)", out)
    pending = re.search(r"pending:\s+(\d+)", out)
    assert done and pending, out
    return int(done.group(1)), int(pending.group(1))


def address() -> dict[str, str]:
    """A fresh client address (the test server trusts X-Forwarded-For from loopback)."""
    return {"X-Forwarded-For": f"198.51.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"}


async def register_with(
    http: httpx.AsyncClient, username: str, token: str, *, headers: dict[str, str]
) -> httpx.Response:
    """The whole UIA dance by hand: flows, token stage, dummy stage."""
    body: dict[str, object] = {"username": username, "password": PASSWORD}
    first = await http.post(REGISTER, json=body, headers=headers)
    if first.status_code != 401:
        return first
    session = first.json()["session"]
    auth = {"type": TOKEN, "token": token, "session": session}
    second = await http.post(REGISTER, json={**body, "auth": auth}, headers=headers)
    if second.status_code != 401 or "errcode" in second.json():
        return second
    assert second.json()["completed"] == [TOKEN]
    dummy = {"type": "m.login.dummy", "session": session}
    return await http.post(REGISTER, json={**body, "auth": dummy}, headers=headers)


async def taken(http: httpx.AsyncClient, localpart: str) -> bool:
    r = await http.get(
        f"{V3}/register/available", params={"username": localpart}, headers=address()
    )
    assert r.status_code in (200, 400), r.text
    return r.status_code == 400 and r.json()["errcode"] == "M_USER_IN_USE"


async def test_a_newcomer_registers_with_a_token_through_nio(open_server: RevierProcess) -> None:
    token_id, token = new_token(open_server, "--uses", "3", "--expires", "7d")
    localpart = f"newcomer-{secrets.token_hex(3)}"
    client = AsyncClient(open_server.url, "")
    try:
        r = await client.register_with_token(localpart, PASSWORD, token, device_name="phone")
        assert isinstance(r, RegisterResponse), r
        assert r.user_id == f"@{localpart}:localhost"
        whoami = await client.whoami()
        assert whoami.user_id == r.user_id  # type: ignore[union-attr]
    finally:
        await client.close()
    laptop = await nio_login(open_server, Account(r.user_id, localpart, PASSWORD), "laptop")
    await laptop.close()
    assert completed(open_server, token_id) == (1, 0)
    listing = open_server.admin("registration-token", "list")
    assert token_id in listing and token not in listing  # the secret is never shown again


async def test_expired_exhausted_and_unknown_tokens_create_nothing(
    open_server: RevierProcess, reg_http: httpx.AsyncClient
) -> None:
    exhausted_id, exhausted = new_token(open_server, "--uses", "1")
    r = await register_with(reg_http, f"first-{secrets.token_hex(3)}", exhausted, headers=address())
    assert r.status_code == 200, r.text
    expired_id, expired = new_token(open_server, "--uses", "5")
    open_server.admin("registration-token", "update", expired_id, "--expires", "2000-01-01")
    for token in (exhausted, expired, "no-such-token", "bad token!"):
        localpart = f"refused-{secrets.token_hex(3)}"
        r = await register_with(reg_http, localpart, token, headers=address())
        assert r.status_code == 401, r.text
        assert r.json()["errcode"] == "M_FORBIDDEN"
        assert TOKEN not in r.json()["completed"]
        assert not await taken(reg_http, localpart)
    assert completed(open_server, exhausted_id) == (1, 0)
    assert completed(open_server, expired_id) == (0, 0)


async def test_twenty_racing_registrations_spend_exactly_five_uses(
    open_server: RevierProcess, reg_http: httpx.AsyncClient
) -> None:
    token_id, token = new_token(open_server, "--uses", "5")
    names = [f"racer-{secrets.token_hex(3)}-{i}" for i in range(20)]
    body = {"password": PASSWORD}
    # Everyone passes the token stage first (the token is valid for all of them) …
    sessions = []
    for name in names:
        headers = address()
        first = await reg_http.post(REGISTER, json={**body, "username": name}, headers=headers)
        session = first.json()["session"]
        auth = {"type": TOKEN, "token": token, "session": session}
        r = await reg_http.post(
            REGISTER, json={**body, "username": name, "auth": auth}, headers=headers
        )
        assert r.status_code == 401 and r.json()["completed"] == [TOKEN], r.text
        sessions.append((name, session, headers))

    # … then all finish at once, racing for the five uses.
    async def finish(name: str, session: str, headers: dict[str, str]) -> int:
        auth = {"type": "m.login.dummy", "session": session}
        r = await reg_http.post(
            REGISTER, json={**body, "username": name, "auth": auth}, headers=headers
        )
        return r.status_code

    codes = await asyncio.gather(*(finish(*s) for s in sessions))
    assert sorted(codes) == [200] * 5 + [401] * 15
    assert completed(open_server, token_id) == (5, 0)
    created = [name for name in names if await taken(reg_http, name)]
    assert len(created) == 5


async def test_validity_endpoint_answers_and_is_rate_limited(
    open_server: RevierProcess, reg_http: httpx.AsyncClient
) -> None:
    _, token = new_token(open_server, "--uses", "1")
    headers = address()
    r = await reg_http.get(VALIDITY, params={"token": token}, headers=headers)
    assert r.json() == {"valid": True}
    r = await reg_http.get(VALIDITY, params={"token": "guessed"}, headers=headers)
    assert r.json() == {"valid": False}
    r = await reg_http.get(VALIDITY, headers=headers)
    assert r.json()["errcode"] == "M_MISSING_PARAM"
    codes = [
        (await reg_http.get(VALIDITY, params={"token": f"g{i}"}, headers=headers)).status_code
        for i in range(12)
    ]
    assert codes[-1] == 429 and 200 in codes


async def test_user_name_and_password_rules(
    open_server: RevierProcess, reg_http: httpx.AsyncClient, tmp_root: Path
) -> None:
    _, token = new_token(open_server)
    cases = [
        ("admin", PASSWORD, "M_EXCLUSIVE"),
        ("guest-abc", PASSWORD, "M_EXCLUSIVE"),
        ("Bad Name!", PASSWORD, "M_INVALID_USERNAME"),
        ("x" * 260, PASSWORD, "M_INVALID_USERNAME"),
        (f"weak-{secrets.token_hex(2)}", "short", "M_WEAK_PASSWORD"),
    ]
    for username, password, errcode in cases:
        r = await reg_http.post(
            REGISTER, json={"username": username, "password": password}, headers=address()
        )
        assert (r.status_code, r.json()["errcode"]) == (400, errcode), (username, r.text)
    name = f"once-{secrets.token_hex(3)}"
    r = await register_with(reg_http, name, token, headers=address())
    assert r.status_code == 200
    r = await register_with(reg_http, name, token, headers=address())
    assert r.json()["errcode"] == "M_USER_IN_USE"
    # inhibit_login: the account, no session.
    headers = address()
    body = {"username": f"quiet-{secrets.token_hex(3)}", "password": PASSWORD}
    s = (await reg_http.post(REGISTER, json=body, headers=headers)).json()["session"]
    for stage in ({"type": TOKEN, "token": token}, {"type": "m.login.dummy"}):
        r = await reg_http.post(
            REGISTER,
            json={**body, "inhibit_login": True, "auth": {**stage, "session": s}},
            headers=headers,
        )
    assert r.status_code == 200 and set(r.json()) == {"user_id"}


async def test_guests_reach_little_and_can_upgrade(
    open_server: RevierProcess, reg_http: httpx.AsyncClient
) -> None:
    r = await reg_http.post(
        REGISTER,
        params={"kind": "guest"},
        json={"username": "admin", "initial_device_display_name": "kiosk"},
        headers=address(),
    )
    assert r.status_code == 200, r.text
    guest = r.json()
    assert guest["user_id"].startswith("@guest-")
    g = {"Authorization": f"Bearer {guest['access_token']}"}
    me = (await reg_http.get(f"{V3}/account/whoami", headers=g)).json()
    assert me["is_guest"] is True
    r = await reg_http.post(f"{V3}/createRoom", json={}, headers=g)
    assert (r.status_code, r.json()["errcode"]) == (403, "M_GUEST_ACCESS_FORBIDDEN")
    r = await reg_http.put(
        f"{V3}/profile/{guest['user_id']}/avatar_url", json={"avatar_url": "mxc://x/y"}, headers=g
    )
    assert r.json()["errcode"] == "M_GUEST_ACCESS_FORBIDDEN"

    # A member's room: closed to guests until m.room.guest_access says can_join.
    host = await register_with(
        reg_http, f"host-{secrets.token_hex(3)}", new_token(open_server)[1], headers=address()
    )
    h = {"Authorization": f"Bearer {host.json()['access_token']}"}
    room_id = (
        await reg_http.post(f"{V3}/createRoom", json={"preset": "public_chat"}, headers=h)
    ).json()["room_id"]
    r = await reg_http.post(f"{V3}/rooms/{room_id}/join", json={}, headers=g)
    assert (r.status_code, r.json()["errcode"]) == (403, "M_GUEST_ACCESS_FORBIDDEN")
    r = await reg_http.put(
        f"{V3}/rooms/{room_id}/state/m.room.guest_access",
        json={"guest_access": "can_join"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    r = await reg_http.post(f"{V3}/rooms/{room_id}/join", json={}, headers=g)
    assert r.status_code == 200, r.text

    # Upgrade: the guest's own user name, its access token, and a registration token.
    token_id, token = new_token(open_server, "--uses", "1")
    localpart = guest["user_id"][1:].split(":")[0]
    upgrade = await register_with(reg_http, localpart, token, headers={**address(), **g})
    # Without guest_access_token it's an ordinary registration of a reserved name.
    assert (upgrade.status_code, upgrade.json()["errcode"]) == (400, "M_EXCLUSIVE")
    body = {
        "username": localpart,
        "password": PASSWORD,
        "guest_access_token": guest["access_token"],
    }
    headers = address()
    s = (await reg_http.post(REGISTER, json=body, headers=headers)).json()["session"]
    for stage in ({"type": TOKEN, "token": token}, {"type": "m.login.dummy"}):
        r = await reg_http.post(
            REGISTER, json={**body, "auth": {**stage, "session": s}}, headers=headers
        )
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == guest["user_id"]
    full = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert (await reg_http.get(f"{V3}/account/whoami", headers=full)).json()["is_guest"] is False
    assert completed(open_server, token_id) == (1, 0)


async def test_closed_registration_creates_nothing(
    server: RevierProcess, http: httpx.AsyncClient
) -> None:
    """The default policy: every shape of request is refused, nothing is created."""
    name = f"intruder-{secrets.token_hex(3)}"
    base = {"username": name, "password": PASSWORD}
    attempts = [
        ({}, base),
        ({}, {**base, "auth": {"type": "m.login.dummy"}}),
        ({}, {**base, "auth": {"type": TOKEN, "token": "anything"}}),
        ({}, {**base, "auth": {"type": "m.login.dummy", "session": "forged-session"}}),
        ({}, {**base, "guest_access_token": "rvat_forged"}),
        ({"kind": "guest"}, {}),
        ({"kind": "admin"}, base),
    ]
    for params, body in attempts:
        r = await http.post(REGISTER, params=params, json=body)
        assert r.status_code in (400, 403), (params, body, r.text)
        assert "access_token" not in r.json() and "session" not in r.json()
    r = await http.get(f"{V3}/register/available", params={"username": name})
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    r = await http.get(VALIDITY, params={"token": "anything"})
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    out = server.admin("user", "list", "--search", "intruder")
    assert name not in out


async def test_an_empty_register_is_answered_with_the_flows(
    reg_http: httpx.AsyncClient,
) -> None:
    """Spec (Account registration): without auth, 401 with the flows — before any
    check of what the body lacks; the password is asked for once a flow is done."""
    r = await reg_http.post(REGISTER, json={}, headers=address())
    assert r.status_code == 401, r.text
    assert r.json()["flows"] == [{"stages": [TOKEN, "m.login.dummy"]}]
    assert isinstance(r.json()["session"], str)


async def test_a_completed_registration_repeated_is_the_same_account(
    open_server: RevierProcess, reg_http: httpx.AsyncClient
) -> None:
    _, token = new_token(open_server, "--uses", "1")
    headers = address()
    body = {"username": f"twice-{secrets.token_hex(3)}", "password": PASSWORD}
    session = (await reg_http.post(REGISTER, json=body, headers=headers)).json()["session"]
    auth = {"type": TOKEN, "token": token, "session": session}
    await reg_http.post(REGISTER, json={**body, "auth": auth}, headers=headers)
    dummy = {"type": "m.login.dummy", "session": session}
    first = await reg_http.post(REGISTER, json={**body, "auth": dummy}, headers=headers)
    assert first.status_code == 200, first.text
    # The answer got lost; the client sends the same request again.
    again = await reg_http.post(REGISTER, json={**body, "auth": dummy}, headers=headers)
    assert again.status_code == 200, again.text
    assert again.json()["user_id"] == first.json()["user_id"]
    assert again.json()["access_token"] != first.json()["access_token"]
    # The one token use was spent once; a wrong password gets nothing.
    wrong = {**body, "password": "not the password at all", "auth": dummy}
    r = await reg_http.post(REGISTER, json=wrong, headers=headers)
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    assert "access_token" not in r.json()


async def test_a_registration_session_is_bound_to_its_request(
    open_server: RevierProcess, reg_http: httpx.AsyncClient
) -> None:
    _, token = new_token(open_server, "--uses", "2")
    headers = address()
    body = {"username": f"bound-{secrets.token_hex(3)}", "password": PASSWORD}
    session = (await reg_http.post(REGISTER, json=body, headers=headers)).json()["session"]
    auth = {"type": TOKEN, "token": token, "session": session}
    r = await reg_http.post(REGISTER, json={**body, "auth": auth}, headers=headers)
    assert r.json()["completed"] == [TOKEN]
    # The token stage passed for one user name must not create another.
    other = {**body, "username": f"other-{secrets.token_hex(3)}"}
    dummy = {"type": "m.login.dummy", "session": session}
    r = await reg_http.post(REGISTER, json={**other, "auth": dummy}, headers=headers)
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    assert not await taken(reg_http, other["username"])
