"""The lockout over HTTP: failed m.login.password attempts slow an account down
(429 M_LIMIT_EXCEEDED with retry_after_ms), then lock it (401 M_USER_LOCKED at
login, on its sessions' requests and refreshes, and a waiting /sync ends); the
help desk sees and lifts the lock through the admin API and the command line,
and resets second factors; who may do that; and the audit log."""

from __future__ import annotations

import asyncio
import secrets
import time

import httpx
import pytest

from tests.integration.admin_api import Admin, entries, new_admin
from tests.integration.conftest import LOOSE_LIMIT, server_fixture
from tests.integration.harness import PASSWORD, RevierProcess
from tests.integration.moderation import ADMIN_API, OTHER, V3, person, whoami_until

FREE, LOCK_AT, FIRST_DELAY_MS = 2, 5, 300

server = server_fixture(
    "signin-lockout",
    extra_tenants=(OTHER,),
    ratelimit__login_per_address=LOOSE_LIMIT,
    ratelimit__login_per_user=LOOSE_LIMIT,
    tenant_policy={
        "signin_failures_before_delay": FREE,
        "signin_failures_before_lock": LOCK_AT,
        "signin_address_failures_before_delay": 4,
        "signin_delay_ms": FIRST_DELAY_MS,
        "signin_delay_max_ms": 2000,
        "access_token_lifetime": 3600,
    },
)


@pytest.fixture(scope="module")
def admin(server: RevierProcess) -> Admin:
    return new_admin(server)


@pytest.fixture(scope="module")
def other_admin(server: RevierProcess) -> Admin:
    return new_admin(server, OTHER)


def address() -> str:
    """A client address of its own, so one test's failures don't slow another's."""
    return f"198.51.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


async def login(
    http: httpx.AsyncClient,
    user: str,
    password: str,
    *,
    source: str,
    refresh: bool = False,
    device_id: str | None = None,
) -> httpx.Response:
    body: dict[str, object] = {"type": "m.login.password", "user": user, "password": password}
    if refresh:
        body["refresh_token"] = True
    if device_id:
        body["device_id"] = device_id
    return await http.post(
        f"{V3}/login", json=body, headers={"Host": "localhost", "X-Forwarded-For": source}
    )


async def lock_state(http: httpx.AsyncClient, admin: Admin, user_id: str) -> httpx.Response:
    return await http.get(f"{ADMIN_API}/users/{user_id}/lock", headers=admin.headers)


async def fail_until_locked(http: httpx.AsyncClient, user_id: str) -> list[int]:
    """Wrong passwords, each from another address, waiting out every delay; returns
    the delays the server asked for."""
    delays = []
    for n in range(1, LOCK_AT + 1):
        r = await login(http, user_id, f"guess {n}", source=address())
        assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN"), n
        if n < FREE or n == LOCK_AT:
            continue
        r = await login(http, user_id, PASSWORD, source=address())
        # Held back: even the right password isn't checked while the account waits.
        assert (r.status_code, r.json()["errcode"]) == (429, "M_LIMIT_EXCEEDED"), (n, r.text)
        delays.append(r.json()["retry_after_ms"])
        await asyncio.sleep(r.json()["retry_after_ms"] / 1000 + 0.05)
    return delays


async def test_failed_passwords_slow_down_then_lock_until_the_help_desk_unlocks(
    http: httpx.AsyncClient, server: RevierProcess, admin: Admin
) -> None:
    bob = await person(http, admin, "bob")
    r = await login(http, bob.user_id, PASSWORD, source=address(), refresh=True)
    assert r.status_code == 200, r.text
    refreshing = r.json()
    # A /sync waiting when the lock comes ends with it.
    since = (await http.get(f"{V3}/sync", headers=bob.headers)).json()["next_batch"]
    waiting = asyncio.create_task(
        http.get(
            f"{V3}/sync", params={"since": since, "timeout": 30000}, headers=bob.headers, timeout=60
        )
    )

    delays = await fail_until_locked(http, bob.user_id)
    # Growing delays: 300 ms after the second failure, then 600, 1200 (less the
    # time the request took).
    assert len(delays) == LOCK_AT - FREE
    for got, full in zip(delays, [300, 600, 1200], strict=True):
        assert full - 250 <= got <= full, delays

    ended = await asyncio.wait_for(waiting, 20)
    assert (ended.status_code, ended.json()["errcode"]) == (401, "M_USER_LOCKED")
    # Locked: the right password gets M_USER_LOCKED; the sessions too, with
    # soft_logout (the client keeps its data and waits); refreshing as well.
    r = await login(http, bob.user_id, PASSWORD, source=address())
    assert (r.status_code, r.json()["errcode"]) == (401, "M_USER_LOCKED"), r.text
    r = await http.get(f"{V3}/account/whoami", headers=bob.headers)
    assert r.status_code == 401 and r.json()["errcode"] == "M_USER_LOCKED"
    assert r.json()["soft_logout"] is True
    r = await http.post(
        f"{V3}/refresh",
        json={"refresh_token": refreshing["refresh_token"]},
        headers={"Host": "localhost"},
    )
    assert (r.status_code, r.json()["errcode"]) == (401, "M_USER_LOCKED"), r.text
    assert r.json()["soft_logout"] is True

    state = (await lock_state(http, admin, bob.user_id)).json()
    assert state["locked"] and state["reason"] == "signin_failures"
    assert state["failures"] == LOCK_AT and state["locked_ts"] > 0

    r = await http.delete(f"{ADMIN_API}/users/{bob.user_id}/lock", headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "user_id": bob.user_id,
        "locked": False,
        "reason": None,
        "failures": 0,
        "locked_ts": None,
        "retry_after_ms": 0,
    }
    # The same sessions work again, as they were; so does the refresh token.
    r = await http.get(f"{V3}/account/whoami", headers=bob.headers)
    assert (r.status_code, r.json()["device_id"]) == (200, bob.device_id)
    r = await http.post(
        f"{V3}/refresh",
        json={"refresh_token": refreshing["refresh_token"]},
        headers={"Host": "localhost"},
    )
    assert r.status_code == 200, r.text
    assert (await login(http, bob.user_id, PASSWORD, source=address())).status_code == 200

    audited = await entries(server, admin, target=bob.user_id)
    actions = [e["action"] for e in audited]
    assert actions.count("login.failed") == LOCK_AT
    locked = [e for e in audited if e["action"] == "user.locked"]
    assert [e["details"] for e in locked] == [{"reason": "signin_failures", "failures": LOCK_AT}]
    assert locked[0]["actor"] is None
    unlocked = [e for e in audited if e["action"] == "user.unlocked"]
    assert [(e["actor"], e["details"]) for e in unlocked] == [
        (admin.user_id, {"was_locked": True, "signin_failures": LOCK_AT})
    ]
    assert not any("guess" in str(e) or PASSWORD in str(e) for e in audited)


async def test_a_name_no_one_has_gets_the_same_answers(http: httpx.AsyncClient) -> None:
    ghost = f"@ghost-{secrets.token_hex(4)}:localhost"
    delays = await fail_until_locked(http, ghost)
    assert len(delays) == LOCK_AT - FREE
    for got, full in zip(delays, [300, 600, 1200], strict=True):
        assert full - 250 <= got <= full, delays
    r = await login(http, ghost, PASSWORD, source=address())
    assert (r.status_code, r.json()["errcode"]) == (401, "M_USER_LOCKED"), r.text


async def test_one_address_guessing_many_accounts_is_slowed_down(
    http: httpx.AsyncClient,
) -> None:
    source = address()
    for n in range(4):  # the address's free failures; unknown users count too
        r = await login(http, f"nobody-{n}-{secrets.token_hex(3)}", "guess", source=source)
        assert r.status_code == 403
    r = await login(http, "nobody-else", "guess", source=source)
    assert (r.status_code, r.json()["errcode"]) == (429, "M_LIMIT_EXCEEDED")
    assert 0 < r.json()["retry_after_ms"] <= FIRST_DELAY_MS
    # Another address is not held back.
    assert (await login(http, "nobody-else", "guess", source=address())).status_code == 403


async def test_the_lock_and_factor_endpoints_are_for_the_tenants_admins(
    http: httpx.AsyncClient, server: RevierProcess, admin: Admin, other_admin: Admin
) -> None:
    bob = await person(http, admin, "bob")
    foreign = await person(http, other_admin, "otto")
    member = Admin(bob.user_id, "localhost", bob.token)
    for method in ("GET", "DELETE"):
        for what in ("lock", "second_factors"):
            path = f"{ADMIN_API}/users/{bob.user_id}/{what}"
            r = await http.request(method, path, headers=member.headers)
            assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN"), (method, what)
            # Another tenant's user is as unknown as no one.
            path = f"{ADMIN_API}/users/{foreign.user_id}/{what}"
            r = await http.request(method, path, headers=admin.headers)
            assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND"), (method, what)
            r = await http.request(
                method, path.replace(foreign.user_id, "@x%00:localhost"), headers=admin.headers
            )
            assert r.status_code == 404, (method, what)
            r = await http.request(method, path, headers={"Host": "localhost"})
            assert r.status_code == 401

    r = await http.delete(f"{ADMIN_API}/users/{bob.user_id}/second_factors", headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "user_id": bob.user_id,
        "second_factors": [],
        "recovery_codes_left": 0,
        "required": False,
    }
    reset = await entries(server, admin, target=bob.user_id, action="second_factor.reset")
    assert [(e["actor"], e["details"]) for e in reset] == [(admin.user_id, {"factors": 0})]
    # Nothing to lift: answered, not audited.
    r = await http.delete(f"{ADMIN_API}/users/{bob.user_id}/lock", headers=admin.headers)
    assert r.status_code == 200 and r.json()["locked"] is False
    assert await entries(server, admin, target=bob.user_id, action="user.unlocked") == []


async def test_the_command_line_shows_and_lifts_the_lock_and_resets_factors(
    http: httpx.AsyncClient, server: RevierProcess, admin: Admin
) -> None:
    carl = await person(http, admin, "carl")
    await fail_until_locked(http, carl.user_id)
    out = server.admin("users", "lock-state", carl.user_id)
    assert "locked (signin_failures)" in out and f"{LOCK_AT} failed sign-ins" in out
    await whoami_until(http, carl, "M_USER_LOCKED")
    out = server.admin("users", "unlock", carl.user_id)
    assert f"{carl.user_id} is unlocked" in out
    await whoami_until(http, carl, None)
    assert (await login(http, carl.user_id, PASSWORD, source=address())).status_code == 200
    out = server.admin("users", "reset-factors", carl.user_id)
    assert "has no second factor now" in out
    out = server.admin("users", "factors", carl.user_id)
    assert "has no second factor" in out and "recovery codes left: 0" in out
    audited = await entries(server, admin, target=carl.user_id)
    by_cli = {e["action"] for e in audited if str(e["actor"]).startswith("cli:")}
    assert by_cli == {"user.unlocked", "second_factor.reset"}
    # Another tenant's user, or no one: refused with the reason, not a traceback.
    out = server.admin("users", "unlock", "@nobody:localhost", check=False)
    assert "M_NOT_FOUND" in out and "Traceback" not in out


async def test_a_right_password_between_guesses_forgives_them_but_not_a_lock(
    http: httpx.AsyncClient, admin: Admin
) -> None:
    dora = await person(http, admin, "dora")
    started = time.monotonic()
    for _ in range(LOCK_AT * 2):  # never more than one failure in a row
        assert (await login(http, dora.user_id, "typo", source=address())).status_code == 403
        r = await login(http, dora.user_id, PASSWORD, source=address(), device_id="DORAPHONE")
        assert r.status_code == 200, r.text
    assert time.monotonic() - started < 30  # never held back
    r = await http.get(f"{ADMIN_API}/users/{dora.user_id}/lock", headers=admin.headers)
    assert r.json()["failures"] == 0 and not r.json()["locked"]
