"""Attacker tests for the foundation: tokens, credentials, brute force, bad input."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.conftest import PASSWORD, Account, running_server, server_fixture
from tests.integration.harness import RevierProcess

LOGIN = "/_matrix/client/v3/login"
WHOAMI = "/_matrix/client/v3/account/whoami"


async def login(
    http: httpx.AsyncClient, user: str, password: str, **headers: str
) -> httpx.Response:
    return await http.post(
        LOGIN,
        headers=headers,
        json={
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user},
            "password": password,
        },
    )


async def token_for(http: httpx.AsyncClient, user: Account) -> str:
    r = await login(http, user.user_id, user.password)
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


async def test_token_in_query_string_is_refused_and_never_logged(
    server: RevierProcess, make_user, http: httpx.AsyncClient
) -> None:
    token = await token_for(http, make_user("q"))
    r = await http.get(WHOAMI, params={"access_token": token})
    assert r.status_code == 401
    assert r.json()["errcode"] == "M_MISSING_TOKEN"
    assert "Authorization" in r.json()["error"]
    # Refused even next to a valid header: a URL token is a leak either way.
    r = await http.get(
        WHOAMI, params={"access_token": token}, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 401
    assert token not in server.log_path.read_text()


async def test_tokens_are_stored_hashed(
    server: RevierProcess, make_user, http: httpx.AsyncClient, engine: str
) -> None:
    token = await token_for(http, make_user("h"))
    dump = server.database_dump()
    assert "access_tokens" in dump
    assert token not in dump and token.removeprefix("rvat_") not in dump
    assert PASSWORD not in dump


async def test_unknown_user_and_wrong_password_look_the_same(
    make_user, http: httpx.AsyncClient
) -> None:
    user = make_user("same")
    wrong = await login(http, user.user_id, "not the password")
    unknown = await login(http, "@nobody-here:localhost", "not the password")
    foreign = await login(http, "@someone:elsewhere.example", "not the password")
    # A NUL can't be stored in PostgreSQL text: such a name is no one's, not a 500.
    nul = await login(http, "nobody\u0000here", "not the password")
    assert wrong.status_code == unknown.status_code == foreign.status_code == nul.status_code == 403
    assert wrong.json() == unknown.json() == foreign.json() == nul.json()
    assert wrong.json()["errcode"] == "M_FORBIDDEN"


async def test_brute_force_on_one_account_hits_the_limit(
    make_user, http: httpx.AsyncClient
) -> None:
    user = make_user("brute")
    statuses = []
    for i in range(12):
        # Each attempt from another address: the per-account limit must hold anyway.
        r = await login(http, user.user_id, f"guess-{i}", **{"X-Forwarded-For": f"198.51.100.{i}"})
        statuses.append(r.status_code)
        if r.status_code == 429:
            assert r.json()["errcode"] == "M_LIMIT_EXCEEDED"
            assert r.json()["retry_after_ms"] > 0
            break
    assert statuses[-1] == 429 and statuses.count(403) >= 3
    # Even the right password is refused while the account is throttled.
    r = await login(http, user.user_id, user.password, **{"X-Forwarded-For": "198.51.100.99"})
    assert r.status_code == 429


strict_server = server_fixture(
    "strict", scope="function", ratelimit__login_per_address={"per_second": 0.01, "burst": 3}
)


async def test_one_address_trying_many_accounts_hits_the_limit(strict_server) -> None:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(base_url=strict_server.url) as http:
        codes = [(await login(http, f"user{i}", "guess")).status_code for i in range(5)]
        assert codes[:3] == [403, 403, 403] and codes[3:] == [429, 429]
        # Another address is not affected.
        r = await login(http, "user9", "guess", **{"X-Forwarded-For": "203.0.113.7"})
        assert r.status_code == 403


@pytest.mark.parametrize(
    ("body", "status", "errcode"),
    [
        (b"{not json", 400, "M_NOT_JSON"),
        (b"", 400, "M_NOT_JSON"),
        (b"[1, 2]", 400, "M_BAD_JSON"),
        (b'{"type": "m.login.password", "password": 5, "user": "x"}', 400, "M_BAD_JSON"),
        (b'{"type": "m.login.password", "user": "x"}', 400, "M_MISSING_PARAM"),
        (b'{"type": "m.login.password", "password": "x"}', 400, "M_MISSING_PARAM"),
        (b'{"type": "m.login.token", "token": "x"}', 403, "M_FORBIDDEN"),  # no such login token
        (b'{"type": "m.login.sso"}', 400, "M_UNKNOWN"),  # a login type revier lacks
        (b'{"type": ["m.login.password"]}', 400, "M_BAD_JSON"),
        (b'{"type": "m.login.password", "identifier": "x", "password": "p"}', 400, "M_BAD_JSON"),
    ],
)
async def test_malformed_login_bodies(
    http: httpx.AsyncClient, body: bytes, status: int, errcode: str
) -> None:
    r = await http.post(LOGIN, content=body, headers={"Content-Type": "application/json"})
    assert (r.status_code, r.json()["errcode"]) == (status, errcode)


async def test_ten_mebibyte_body_is_refused(http: httpx.AsyncClient) -> None:
    big = b'{"type": "m.login.password", "password": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    r = await http.post(LOGIN, content=big)
    assert r.status_code == 413 and r.json()["errcode"] == "M_TOO_LARGE"

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(10):
            yield b"x" * (1024 * 1024)

    # Without Content-Length (chunked), counted while reading.
    r = await http.post(LOGIN, content=chunks())
    assert r.status_code == 413 and r.json()["errcode"] == "M_TOO_LARGE"


async def test_unknown_paths_and_methods(http: httpx.AsyncClient) -> None:
    r = await http.get("/_matrix/client/v3/no/such/endpoint")
    assert (r.status_code, r.json()["errcode"]) == (404, "M_UNRECOGNIZED")
    r = await http.delete(LOGIN)
    assert (r.status_code, r.json()["errcode"]) == (405, "M_UNRECOGNIZED")


async def test_missing_bad_and_other_tenants_tokens(http: httpx.AsyncClient) -> None:
    r = await http.get(WHOAMI)
    assert (r.status_code, r.json()["errcode"]) == (401, "M_MISSING_TOKEN")
    r = await http.get(WHOAMI, headers={"Authorization": "Bearer rvat_made-up"})
    assert (r.status_code, r.json()["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    r = await http.get(WHOAMI, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert (r.status_code, r.json()["errcode"]) == (401, "M_MISSING_TOKEN")


@pytest.fixture
async def two_tenants(engine, request, tmp_root):  # type: ignore[no-untyped-def]
    with running_server(engine, request, tmp_root, "tenants") as srv:
        # A second tenant, added by configuration.
        srv.stop()
        config = srv.config.read_text()
        srv.config.write_text(
            config
            + '[[tenants]]\nserver_name = "localhost"\n'
            + '[[tenants]]\nserver_name = "other.test"\n'
        )
        srv.start()
        yield srv


async def test_another_tenants_token_is_unknown(two_tenants: RevierProcess) -> None:
    two_tenants.admin(
        "user",
        "create",
        "otto",
        "--password-stdin",
        "--tenant",
        "other.test",
        input_text=PASSWORD + "\n",
    )
    async with httpx.AsyncClient(base_url=two_tenants.url) as http:
        other = {"Host": "other.test"}
        r = await login(http, "otto", PASSWORD, **other)
        assert r.status_code == 200 and r.json()["user_id"] == "@otto:other.test"
        token = r.json()["access_token"]
        r = await http.get(WHOAMI, headers={**other, "Authorization": f"Bearer {token}"})
        assert r.status_code == 200
        r = await http.get(
            WHOAMI, headers={"Host": "localhost", "Authorization": f"Bearer {token}"}
        )
        assert (r.status_code, r.json()["errcode"]) == (401, "M_UNKNOWN_TOKEN")
        # otto exists only in other.test: logging in at localhost fails like any wrong name.
        r = await login(http, "@otto:other.test", PASSWORD, Host="localhost")
        assert r.status_code == 403
        r = await login(http, "otto", PASSWORD, Host="unknown.test")
        assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND")
