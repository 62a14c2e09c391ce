"""Client requirements: an outdated app (by its User-Agent) is refused at login and
/sync with a message naming the version it needs; a current one and unknown
clients pass; the admins see which versions are in use, counted, per tenant."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
import pytest
from nio import AsyncClient, LoginError, LoginResponse

from tests.integration.admin_api import new_admin
from tests.integration.conftest import LOOSE_LIMIT, server_fixture
from tests.integration.harness import PASSWORD, RevierProcess
from tests.integration.steps import V3, log_in

PATH = "/_revier/admin/v1/client_versions"
SLIDING = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync"
OLD_X = "Element X/25.03.3 (Xiaomi Mi 9T; Android 11; RKQ1.200826.002; Sdk c344b155c)"
NEW_X = "Element X/25.10.2 (Xiaomi Mi 9T; Android 11; RKQ1.200826.002; Sdk c344b155c)"
OLD_DESKTOP = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Element/1.11.85 Chrome/128.0.6613.186 Electron/32.2.6 Safari/537.36"
)
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

server = server_fixture(
    "client-versions",
    tenant_policy={"min_client_versions": {"Element X": "25.10.0", "Element": "1.12.0"}},
    extra_tenants=("other.test",),
    ratelimit__login_per_address=LOOSE_LIMIT,
)


@pytest.fixture
async def http(server: RevierProcess) -> AsyncIterator[httpx.AsyncClient]:
    """Two tenants: requests name theirs (``localhost`` unless a header says otherwise)."""
    async with httpx.AsyncClient(
        base_url=server.url, timeout=30, headers={"Host": "localhost"}
    ) as client:
        yield client


def ua(agent: str) -> dict[str, str]:
    return {"User-Agent": agent}


async def test_an_outdated_app_is_refused_at_login_naming_the_version(
    http: httpx.AsyncClient, make_user: Any
) -> None:
    account = make_user("anna")
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": account.user_id},
        "password": account.password,
    }
    for agent, needed in ((OLD_X, "25.10.0"), (OLD_DESKTOP, "1.12.0")):
        r = await http.post(f"{V3}/login", json=body, headers=ua(agent))
        assert r.status_code == 400, r.text
        error = r.json()
        assert error["errcode"] == "DE.REVIER_CLIENT_OUTDATED"
        assert needed in error["error"] and error["de.revier.min_version"] == needed
    # Even a wrong password hears about the update first (and learns nothing else).
    r = await http.post(f"{V3}/login", json={**body, "password": "wrong"}, headers=ua(OLD_X))
    assert r.json()["errcode"] == "DE.REVIER_CLIENT_OUTDATED"
    for agent in (NEW_X, BROWSER, "FluffyChat/1.0"):
        r = await http.post(f"{V3}/login", json=body, headers=ua(agent))
        assert r.status_code == 200, (agent, r.text)
        await http.post(
            f"{V3}/logout", headers={"Authorization": f"Bearer {r.json()['access_token']}"}
        )


async def test_an_app_that_falls_behind_is_refused_at_sync(
    http: httpx.AsyncClient, make_user: Any
) -> None:
    s = await log_in(http, make_user("ben"), **ua(NEW_X))
    r = await http.get(f"{V3}/sync", params={"timeout": 0}, headers={**s.headers, **ua(NEW_X)})
    assert r.status_code == 200, r.text
    r = await http.get(f"{V3}/sync", params={"timeout": 0}, headers={**s.headers, **ua(OLD_X)})
    assert (r.status_code, r.json()["errcode"]) == (400, "DE.REVIER_CLIENT_OUTDATED")
    assert "25.10.0" in r.json()["error"]
    r = await http.post(SLIDING, json={}, headers={**s.headers, **ua(OLD_X)})
    assert (r.status_code, r.json()["errcode"]) == (400, "DE.REVIER_CLIENT_OUTDATED")
    r = await http.post(SLIDING, json={}, headers={**s.headers, **ua(NEW_X)})
    assert r.status_code == 200, r.text
    # Other endpoints keep working: the app can still say goodbye cleanly.
    r = await http.get(f"{V3}/account/whoami", headers={**s.headers, **ua(OLD_X)})
    assert r.status_code == 200


async def test_a_real_client_shows_the_message(server: RevierProcess, make_user: Any) -> None:
    account = make_user("carl")
    for agent, ok in ((OLD_X, False), (NEW_X, True)):
        client = AsyncClient(server.url.replace("127.0.0.1", "localhost"), account.user_id)
        client.client_session = aiohttp.ClientSession(headers=ua(agent))
        try:
            response = await client.login(PASSWORD, device_name="nio")
            if ok:
                assert isinstance(response, LoginResponse), response
            else:
                assert isinstance(response, LoginError)
                assert "update Element X Android to version 25.10.0" in response.message
        finally:
            await client.close()


async def test_admins_see_the_versions_in_use_of_their_tenant_only(
    server: RevierProcess, http: httpx.AsyncClient, make_user: Any
) -> None:
    admin = new_admin(server)
    before = await http.get(PATH, headers=admin.headers)
    assert before.status_code == 200, before.text
    counted = {(c["name"], c["version"]): c["devices"] for c in before.json()["clients"]}
    agent = "Element X/25.11.7 (iPhone; iOS 18.3; Scale/3.00)"
    for name in ("dora", "emil"):
        s = await log_in(http, make_user(name), **ua(agent))
        r = await http.get(f"{V3}/account/whoami", headers={**s.headers, **ua(agent)})
        assert r.status_code == 200
    r = await http.get(PATH, headers=admin.headers)
    body = r.json()
    now = {(c["name"], c["version"]): c["devices"] for c in body["clients"]}
    assert now[("Element X iOS", "25.11.7")] == counted.get(("Element X iOS", "25.11.7"), 0) + 2
    assert body["min_client_versions"] == {"Element X": "25.10.0", "Element": "1.12.0"}
    text = r.text
    assert "@" not in text and "iPhone" not in text and "127.0.0.1" not in text

    other = new_admin(server, "other.test")
    r = await http.get(PATH, headers=other.headers)
    assert r.status_code == 200
    assert ("Element X iOS", "25.11.7") not in {
        (c["name"], c["version"]) for c in r.json()["clients"]
    }
    r = await http.get(PATH, headers={**admin.headers, "Host": "other.test"})
    assert r.status_code == 401
    member = await log_in(http, make_user("fritz"))
    r = await http.get(PATH, headers=member.headers)
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    r = await http.get(PATH)
    assert r.status_code == 401


@pytest.mark.one_engine
async def test_the_fixture_config_quotes_client_names(server: RevierProcess) -> None:
    assert '"Element X" = "25.10.0"' in server.config.read_text()
