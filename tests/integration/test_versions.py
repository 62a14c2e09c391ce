"""GET /_matrix/client/versions: what revier tells clients it implements.

Clients switch real behaviour on these flags (Element sets up cross-signing by
itself, hides the encryption switch, offers private receipts), so every flag
advertised must have its endpoints behind it: ``PROBES`` names, for each flag, a
request that an unimplemented endpoint would answer 404 ``M_UNRECOGNIZED``. A flag
advertised without a probe here fails the test, so none slips in untested.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import PASSWORD, Account, server_fixture
from tests.integration.harness import RevierProcess
from tests.integration.jsclient import JsClient

V3 = "/_matrix/client/v3"
E2EE_FORCED = (
    "io.element.e2ee_forced.public",
    "io.element.e2ee_forced.private",
    "io.element.e2ee_forced.trusted_private",
)

# flag -> requests (method, path, JSON body) that reach the feature's endpoints.
PROBES: dict[str, list[tuple[str, str, dict[str, Any] | None]]] = {
    "org.matrix.e2e_cross_signing": [
        ("POST", f"{V3}/keys/device_signing/upload", {}),
        ("POST", f"{V3}/keys/signatures/upload", {}),
    ],
    "org.matrix.msc2285.stable": [
        ("POST", f"{V3}/rooms/!nowhere:localhost/read_markers", {"m.read.private": "$e"}),
    ],
    "org.matrix.msc3440.stable": [
        ("GET", "/_matrix/client/v1/rooms/!nowhere:localhost/threads", None),
        ("GET", "/_matrix/client/v1/rooms/!nowhere:localhost/relations/$e/m.thread", None),
    ],
    "org.matrix.msc3827.stable": [
        ("POST", f"{V3}/publicRooms", {"filter": {"room_types": ["m.space"]}}),
    ],
    "org.matrix.msc3916.stable": [
        ("GET", "/_matrix/client/v1/media/config", None),
    ],
    "org.matrix.simplified_msc3575": [
        ("POST", "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync", {}),
    ],
}


async def versions(http: httpx.AsyncClient, host: str | None = None) -> dict[str, Any]:
    r = await http.get("/_matrix/client/versions", headers={"Host": host} if host else {})
    assert r.status_code == 200, r.text
    assert "Host" in r.headers.get("vary", "")
    body: dict[str, Any] = r.json()
    return body


async def test_every_advertised_flag_has_its_endpoints(http: httpx.AsyncClient, make_user) -> None:
    body = await versions(http)
    assert "v1.1" in body["versions"] and "v1.11" in body["versions"]
    flags = {k for k, on in body["unstable_features"].items() if on} - set(E2EE_FORCED)
    assert flags <= set(PROBES), f"advertised without a probe here: {flags - set(PROBES)}"
    assert "org.matrix.e2e_cross_signing" in flags
    user: Account = make_user("probe")
    login = await http.post(
        f"{V3}/login", json={"type": "m.login.password", "user": user.user_id, "password": PASSWORD}
    )
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
    for flag in sorted(flags):
        for method, path, body_json in PROBES[flag]:
            r = await http.request(method, path, json=body_json, headers=auth)
            unimplemented = r.status_code == 404 and r.json().get("errcode") == "M_UNRECOGNIZED"
            assert not unimplemented, f"{flag}: {method} {path} has no handler"


policies = server_fixture(
    "policies",
    tenant_policy={"room_encryption": "optional"},
    extra_tenants=(
        ("required.test", {"room_encryption": "required"}),
        ("default.test", {"room_encryption": "default"}),
    ),
)


@pytest.mark.parametrize(
    ("host", "forced"),
    [("localhost", False), ("required.test", True), ("default.test", True)],
)
async def test_e2ee_forced_follows_each_tenants_room_encryption(
    policies: RevierProcess, host: str, forced: bool
) -> None:
    async with httpx.AsyncClient(base_url=policies.url, timeout=30) as http:
        body = await versions(http, host)
    assert {flag: body["unstable_features"][flag] for flag in E2EE_FORCED} == dict.fromkeys(
        E2EE_FORCED, forced
    )


@pytest.mark.one_engine
async def test_element_sets_up_cross_signing_at_first_sign_in(
    server: RevierProcess, make_user, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    """What Element Web does after a new account's first sign-in: it asks the server
    for the flag, then bootstraps cross-signing without asking for the password."""
    newcomer: Account = make_user(f"new-{secrets.token_hex(2)}", solo=True)
    async with JsClient.start() as js:
        await js.call(
            "login", baseUrl=server.url, userId=newcomer.user_id, password=newcomer.password
        )
        supported = await js.call("serverSupports", feature="org.matrix.e2e_cross_signing")
        assert supported == {"supported": True}
        await js.call("startClient", crypto=True)
        await js.call("waitForSync")
        result = await js.call("crossSigningBootstrap", noAuth=True)
        assert result["ready"] is True and result["authAsked"] is False, result

    # Another user sees the master key at once.
    other: Account = make_user("peer")
    login = await http.post(
        f"{V3}/login",
        json={"type": "m.login.password", "user": other.user_id, "password": PASSWORD},
    )
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
    keys = await http.post(
        f"{V3}/keys/query", json={"device_keys": {newcomer.user_id: []}}, headers=auth
    )
    assert newcomer.user_id in keys.json()["master_keys"], keys.text
