"""Calling the admin API in tests: an admin of a tenant with a logged-in token,
and reading the audit log (GET /_revier/admin/v1/audit)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import httpx

from tests.integration.harness import PASSWORD, RevierProcess

AUDIT = "/_revier/admin/v1/audit"


@dataclass
class Admin:
    user_id: str
    host: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Host": self.host, "Authorization": f"Bearer {self.token}"}


def login(
    server: RevierProcess, user: str, password: str, host: str = "localhost", **headers: str
) -> httpx.Response:
    return httpx.post(
        f"{server.url}/_matrix/client/v3/login",
        json={"type": "m.login.password", "user": user, "password": password},
        headers={"Host": host, **headers},
    )


def new_admin(server: RevierProcess, tenant: str = "localhost") -> Admin:
    """A new admin of ``tenant``, logged in once (one of their devices)."""
    localpart = f"auditor-{secrets.token_hex(4)}"
    flags = ("--admin",) if tenant == "localhost" else ("--admin", "--tenant", tenant)
    server.create_user(localpart, PASSWORD, *flags)
    response = login(server, localpart, PASSWORD, tenant)
    assert response.status_code == 200, response.text
    return Admin(f"@{localpart}:{tenant}", tenant, response.json()["access_token"])


# Admins and members shared by the admin API tests, per server and tenant: each
# one is a CLI run and a login (a device) fewer.
_shared: dict[tuple[str, str, bool], Admin] = {}


def shared_admin(server: RevierProcess, tenant: str = "localhost") -> Admin:
    """An admin of ``tenant`` for tests that don't count what admins did."""
    key = (server.url, tenant, True)
    if key not in _shared:
        _shared[key] = new_admin(server, tenant)
    return _shared[key]


def shared_member(server: RevierProcess) -> Admin:
    """A user of ``localhost`` who is not an admin (``Admin`` for the headers)."""
    key = (server.url, "localhost", False)
    if key not in _shared:
        localpart = f"member-{secrets.token_hex(4)}"
        user_id = server.create_user(localpart, PASSWORD)
        response = login(server, localpart, PASSWORD)
        assert response.status_code == 200, response.text
        _shared[key] = Admin(user_id, "localhost", response.json()["access_token"])
    return _shared[key]


async def audit(
    server: RevierProcess, who: Admin, path: str = AUDIT, **params: object
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        return await http.get(path, params=params, headers=who.headers)  # type: ignore[arg-type]


async def entries(server: RevierProcess, who: Admin, **params: object) -> list[dict[str, object]]:
    """The audit entries matching ``params`` (one page: narrow the filters)."""
    response = await audit(server, who, **params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "next_token" not in body, "more than one page: narrow the filters"
    result: list[dict[str, object]] = body["entries"]
    return result
