"""OpenID tokens (widgets) and TURN credentials (calls), against a real coturn.

The OpenID token travels in a URL by the spec: it must never be logged, never
work as an access token (nor the reverse), and answer only on its own
tenant's host.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from nio import AsyncClient, LoginResponse

from tests.integration.conftest import LOOSE_LIMIT, Account, running_server
from tests.integration.harness import INITIAL_ADMIN_PASSWORD, RevierProcess
from tests.integration.steps import V3, log_in, people
from tests.integration.turn import allocate, coturn, missing_reason

USERINFO = "/_matrix/federation/v1/openid/userinfo"
TURN_SECRET = "turn-" + secrets.token_hex(16)
TURN_URIS = ["turn:127.0.0.1:3478?transport=udp"]


@pytest.fixture(scope="module")
def server(engine: str, request: pytest.FixtureRequest, tmp_root: Path) -> Iterator[RevierProcess]:
    """Two tenants; ``localhost`` has TURN, its secret in a file."""
    secret_file = tmp_root / f"turn-secret-{engine}"
    secret_file.write_text(TURN_SECRET + "\n")
    secret_file.chmod(0o600)
    turn = {"uris": TURN_URIS, "shared_secret_file": str(secret_file), "user_lifetime": 600}
    with running_server(
        engine,
        request,
        tmp_root,
        "openid",
        extra_tenants=("other.test",),
        tenant_sections={"turn": turn},
        ratelimit__login_per_address=LOOSE_LIMIT,
    ) as server:
        yield server


@pytest.fixture
async def http(server: RevierProcess) -> AsyncIterator[httpx.AsyncClient]:
    # Two tenants: the Host header picks one (``localhost`` unless a test says).
    async with httpx.AsyncClient(base_url=server.local_url, timeout=30) as client:
        yield client


async def openid_token(http: httpx.AsyncClient, headers: dict[str, str], user_id: str) -> str:
    r = await http.post(f"{V3}/user/{user_id}/openid/request_token", headers=headers, json={})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


async def test_openid_token_names_its_user_and_nothing_more(
    server: RevierProcess, http: httpx.AsyncClient, make_user
) -> None:
    (anna,) = await people(http, make_user, "anna")
    r = await http.post(
        f"{V3}/user/{anna.user_id}/openid/request_token", headers=anna.headers, json={}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["matrix_server_name"] == "localhost"
    assert body["expires_in"] == 3600
    token = body["access_token"]

    r = await http.get(USERINFO, params={"access_token": token})
    assert (r.status_code, r.json()) == (200, {"sub": anna.user_id})

    # Not an access token: neither in the header nor in the URL.
    r = await http.get(f"{V3}/account/whoami", headers={"Authorization": f"Bearer {token}"})
    assert (r.status_code, r.json()["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    r = await http.get(f"{V3}/account/whoami", params={"access_token": token})
    assert r.status_code == 401
    # And an access token is no OpenID token.
    r = await http.get(USERINFO, params={"access_token": anna.token})
    assert (r.status_code, r.json()["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    # The URL-token guard still holds everywhere else.
    r = await http.get(f"{V3}/account/whoami", params={"access_token": anna.token})
    assert (r.status_code, r.json()["errcode"]) == (401, "M_MISSING_TOKEN")

    # Neither token reached the log, though one came in a URL.
    log = server.log_path.read_text()
    assert token not in log and anna.token not in log
    assert USERINFO in log  # the request was logged, without its query


async def test_openid_attacks(server: RevierProcess, http: httpx.AsyncClient, make_user) -> None:
    anna, eve = await people(http, make_user, "anna", "eve")
    # Only for oneself.
    r = await http.post(
        f"{V3}/user/{anna.user_id}/openid/request_token", headers=eve.headers, json={}
    )
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    # Forged, empty and missing tokens.
    for params in ({"access_token": "rvoi_" + secrets.token_urlsafe(32)}, {"access_token": ""}, {}):
        r = await http.get(USERINFO, params=params)
        assert (r.status_code, r.json()["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    # A token is answered on its own tenant's host only.
    token = await openid_token(http, anna.headers, anna.user_id)
    r = await http.get(USERINFO, params={"access_token": token}, headers={"Host": "other.test"})
    assert (r.status_code, r.json()["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    r = await http.get(USERINFO, params={"access_token": token}, headers={"Host": "localhost"})
    assert r.json() == {"sub": anna.user_id}


async def test_openid_token_with_matrix_nio(
    server: RevierProcess, http: httpx.AsyncClient, make_user
) -> None:
    account = make_user("nio")
    client = AsyncClient(server.local_url, account.user_id)
    try:
        assert isinstance(await client.login(account.password), LoginResponse)
        response = await client.get_openid_token(account.user_id)
        assert response.matrix_server_name == "localhost", response
        r = await http.get(USERINFO, params={"access_token": response.access_token})
        assert r.json() == {"sub": account.user_id}
    finally:
        await client.close()


async def test_turn_credentials_are_coturns_scheme(http: httpx.AsyncClient, make_user) -> None:
    (anna,) = await people(http, make_user, "anna")
    before = int(time.time())
    r = await http.get(f"{V3}/voip/turnServer", headers=anna.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["uris"] == TURN_URIS and body["ttl"] == 600
    expiry, _, user_id = body["username"].partition(":")
    assert user_id == anna.user_id
    assert before + 600 <= int(expiry) <= int(time.time()) + 600
    mac = hmac.new(TURN_SECRET.encode(), body["username"].encode(), hashlib.sha1).digest()
    assert body["password"] == base64.b64encode(mac).decode()
    # A login is needed, and another tenant without TURN has none to give.
    assert (await http.get(f"{V3}/voip/turnServer")).status_code == 401
    admin = Account("@admin:other.test", "admin", INITIAL_ADMIN_PASSWORD)
    other = await log_in(http, admin, Host="other.test")
    r = await http.get(f"{V3}/voip/turnServer", headers=other.headers)
    assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND")


@pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason()))
async def test_real_coturn_accepts_the_credentials(
    server: RevierProcess, http: httpx.AsyncClient, make_user, tmp_path: Path
) -> None:
    (anna,) = await people(http, make_user, "anna")
    body = (await http.get(f"{V3}/voip/turnServer", headers=anna.headers)).json()
    with coturn(TURN_SECRET, tmp_path) as turn:
        result = allocate(turn.port, body["username"], body["password"])
        assert result.ok and result.relayed is not None and result.relayed[0] == "127.0.0.1"
        # A tampered name (a later expiry, another user) or password is refused.
        expiry, _, user_id = body["username"].partition(":")
        later = f"{int(expiry) + 86400}:{user_id}"
        assert allocate(turn.port, later, body["password"]).error_code == 401
        assert allocate(turn.port, f"{expiry}:@eve:localhost", body["password"]).error_code == 401
        forged = base64.b64encode(b"x" * 20).decode()
        assert allocate(turn.port, body["username"], forged).error_code == 401
        # An expired credential, correctly signed, is refused too.
        old = f"{int(time.time()) - 60}:{anna.user_id}"
        mac = hmac.new(TURN_SECRET.encode(), old.encode(), hashlib.sha1).digest()
        assert allocate(turn.port, old, base64.b64encode(mac).decode()).error_code == 401
    assert TURN_SECRET not in server.log_path.read_text()
