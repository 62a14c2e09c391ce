"""The server and the people of the moderation tests (reports, lock, suspend,
deactivation by the user): one installation with two tenants — ``localhost``
with the default policy (no self-deactivation) and ``other.test``, which lets
its users close their own accounts — and a tight report limit to run into."""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import httpx

from tests.integration.admin_api import Admin
from tests.integration.conftest import LOOSE_LIMIT
from tests.integration.harness import PASSWORD
from tests.integration.steps import Session

ADMIN_API = "/_revier/admin/v1"
V1 = "/_matrix/client/v1"
V3 = "/_matrix/client/v3"
OTHER = "other.test"
REPORT_BURST = 5

# A module's server: ``server = server_fixture("…", **SERVER_OPTIONS)``.
SERVER_OPTIONS: dict[str, Any] = {
    "extra_tenants": ((OTHER, {"allow_self_deactivation": True}),),
    "ratelimit__login_per_address": LOOSE_LIMIT,
    "ratelimit__reports_per_user": {"per_second": 0.001, "burst": REPORT_BURST},
    "tenant_policy": {"plaintext_in_encrypted_rooms": "allow"},
}


async def person(
    http: httpx.AsyncClient, by: Admin, prefix: str = "user", **fields: Any
) -> Session:
    """A new account of the tenant of ``by`` (made through the admin API), logged in."""
    admin = by
    localpart = f"{prefix}-{secrets.token_hex(4)}"
    r = await http.post(
        f"{ADMIN_API}/users",
        json={"localpart": localpart, "password": PASSWORD, **fields},
        headers=admin.headers,
    )
    assert r.status_code == 201, r.text
    r = await http.post(
        f"{V3}/login",
        json={"type": "m.login.password", "user": localpart, "password": PASSWORD},
        headers={"Host": admin.host},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    return Session(body["user_id"], body["device_id"], body["access_token"], admin.host)


async def whoami_until(
    http: httpx.AsyncClient, s: Session, errcode: str | None, *, timeout_s: float = 20
) -> None:
    """Ask /whoami until it answers ``errcode`` (None: success). A change made by
    the command line (another process) reaches a server without Redis once its
    token cache lets go (at most 10 s)."""
    deadline = time.monotonic() + timeout_s
    while True:
        r = await http.get(f"{V3}/account/whoami", headers=s.headers)
        got = None if r.status_code == 200 else r.json().get("errcode")
        if got == errcode:
            return
        assert time.monotonic() < deadline, f"{s.user_id}: still {got}, not {errcode}"
        await asyncio.sleep(0.25)  # a process outside the server changed it: poll
