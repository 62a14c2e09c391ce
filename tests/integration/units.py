"""Driving the units admin API in tests, and the members' matrix-nio clients."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from nio import AsyncClient, LoginResponse, RoomCreateResponse

from tests.integration.admin_api import Admin
from tests.integration.harness import PASSWORD, RevierProcess

UNITS = "/_revier/admin/v1/units"
V3 = "/_matrix/client/v3"
SERVICE = "@_units:localhost"


class UnitsApi:
    def __init__(self, http: httpx.AsyncClient, who: Admin) -> None:
        self.http = http
        self.who = who

    async def call(self, method: str, path: str, body: Any = None, **params: Any) -> httpx.Response:
        return await self.http.request(
            method, path, json=body, params=params or None, headers=self.who.headers
        )

    async def ok(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        response = await self.call(method, path, body, **params)
        assert response.status_code == 200, response.text
        return response.json()

    async def unit(self, name: str, parent_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name}
        if parent_id is not None:
            body["parent_id"] = parent_id
        result: dict[str, Any] = await self.ok("POST", UNITS, body)
        return result

    async def attach(self, unit_id: str, rule: str, **room: str) -> str:
        body = await self.ok("POST", f"{UNITS}/{unit_id}/rooms", {"rule": rule, **room})
        room_id: str = body["room_id"]
        return room_id

    async def add(self, unit_id: str, user_id: str, role: str = "member") -> Any:
        return await self.ok(
            "POST", f"{UNITS}/{unit_id}/members", {"user_id": user_id, "role": role}
        )

    async def remove(self, unit_id: str, user_id: str) -> Any:
        return await self.ok("DELETE", f"{UNITS}/{unit_id}/members/{quote(user_id)}")


Login = Callable[[], Awaitable[AsyncClient]]


def fixtures() -> tuple[Any, Any, Any]:
    """The fixtures a units test module assigns: ``http, api, login = fixtures()``
    (``login`` logs in the next of a module's fresh accounts with matrix-nio)."""

    @pytest.fixture
    async def http(org_server: RevierProcess) -> AsyncIterator[httpx.AsyncClient]:
        async with httpx.AsyncClient(base_url=org_server.url, timeout=120) as client:
            yield client

    @pytest.fixture
    def api(http: httpx.AsyncClient, admin: Admin) -> UnitsApi:
        return UnitsApi(http, admin)

    # Per server (its data directory): with --db=both the module runs on two.
    accounts: dict[str, list[str]] = {}

    @pytest.fixture
    async def login(org_server: RevierProcess, password_hash: str) -> AsyncIterator[Login]:
        clients: list[AsyncClient] = []

        async def make() -> AsyncClient:
            pool = accounts.setdefault(str(org_server.data_dir), [])
            if not pool:
                pool.extend(
                    org_server.import_users(
                        [f"unit-{secrets.token_hex(4)}" for _ in range(12)], password_hash
                    )
                )
            client = AsyncClient(org_server.url.replace("127.0.0.1", "localhost"), pool.pop())
            response = await client.login(PASSWORD, device_name="units test")
            assert isinstance(response, LoginResponse), response
            clients.append(client)
            return client

        yield make
        for client in clients:
            await client.close()

    return http, api, login


def headers(client: AsyncClient) -> dict[str, str]:
    return {"Host": "localhost", "Authorization": f"Bearer {client.access_token}"}


async def send(
    http: httpx.AsyncClient, client: AsyncClient, room_id: str, text: str
) -> httpx.Response:
    """A plain message by raw HTTP (the org server lets plaintext into encrypted rooms)."""
    return await http.put(
        f"{V3}/rooms/{quote(room_id)}/send/m.room.message/{secrets.token_hex(6)}",
        json={"msgtype": "m.text", "body": text},
        headers=headers(client),
    )


async def own_room(client: AsyncClient, name: str) -> str:
    """A room the user makes, with the service account invited at power 100 (so a
    unit may take it)."""
    created = await client.room_create(
        name=name,
        invite=[SERVICE],
        power_level_override={"users": {SERVICE: 100}},
    )
    assert isinstance(created, RoomCreateResponse), created
    room_id: str = created.room_id
    return room_id


async def state(
    http: httpx.AsyncClient, client: AsyncClient, room_id: str, event_type: str, key: str = ""
) -> httpx.Response:
    return await http.get(
        f"{V3}/rooms/{quote(room_id)}/state/{event_type}/{quote(key)}", headers=headers(client)
    )
