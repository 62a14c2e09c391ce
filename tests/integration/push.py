"""Push tests' shared parts: a push gateway on loopback (``bench.push_gateway``), revier
processes that may push to it, people logged in with httpx, and pushers.

Every test uses pushkeys of its own, so what another test's retries deliver late
never counts: the gateway is asked for the pushes of one pushkey.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from bench.push_gateway import Arrival, PushGateway

from tests.integration.admin_api import Admin
from tests.integration.conftest import LOOSE_LIMIT, running_server
from tests.integration.harness import PASSWORD, RevierProcess

V3 = "/_matrix/client/v3"
ADMIN = "/_revier/admin/v1"
APP_ID = "org.revier.test.android"
# What every push must be, and never more (push_content "none").
EVENT_KEYS = {"event_id", "room_id", "prio", "counts", "devices"}


def gateway_fixture() -> Any:
    """A fixture: a push gateway for the tests of a module (assign it to ``gateway``)."""

    @pytest.fixture(scope="module")
    async def fixture() -> AsyncIterator[PushGateway]:
        gw = await PushGateway().start()
        yield gw
        await gw.stop()

    return fixture


def push_server_fixture(name: str, **policy: Any) -> Any:
    """A fixture: a revier for the tests of a module that pushes to ``gateway`` with
    the tenant policy ``policy`` (assign it to ``push_server``)."""

    @pytest.fixture(scope="module")
    def fixture(
        engine: str, request: pytest.FixtureRequest, tmp_root: Path, gateway: PushGateway
    ) -> Iterator[RevierProcess]:
        options = push_options(gateway, **policy)
        with running_server(engine, request, tmp_root, name, **options) as server:
            yield server

    return fixture


def client_fixtures() -> tuple[Any, Any, Any]:
    """Fixtures on the module's ``push_server``: ``people`` (accounts), ``api`` (an
    httpx client) and ``admin`` (an admin logged in); assign them to those names."""

    @pytest.fixture(scope="module")
    def people(push_server: RevierProcess, password_hash: str) -> People:
        return People(push_server, password_hash)

    @pytest.fixture
    async def api(push_server: RevierProcess) -> AsyncIterator[httpx.AsyncClient]:
        async with httpx.AsyncClient(base_url=push_server.url, timeout=30) as client:
            yield client

    @pytest.fixture(scope="module")
    def admin(push_server: RevierProcess) -> Admin:
        name = f"admin-{secrets.token_hex(3)}"
        push_server.create_user(name, PASSWORD, "--admin")
        token = httpx.post(
            f"{push_server.url}{V3}/login",
            json={"type": "m.login.password", "user": name, "password": PASSWORD},
        ).json()["access_token"]
        return Admin(f"@{name}:localhost", "localhost", token)

    return people, api, admin


def answering(gw: PushGateway) -> PushGateway:
    """The gateway answering again (a test before may have left it failing or hanging)."""
    gw.mode, gw.rejected = "ok", set()
    gw.release_hanging()
    return gw


def push_options(gateway: PushGateway, **policy: Any) -> dict[str, Any]:
    """``running_server`` options of a revier that pushes to ``gateway``."""
    return {
        "tenant_policy": {
            "push_gateways": [gateway.origin],
            "room_encryption": "optional",
            **policy,
        },
        "push": {"request_timeout_seconds": 2},
        "ratelimit__login_per_address": LOOSE_LIMIT,
    }


@dataclass
class Person:
    user_id: str
    device_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def localpart(self) -> str:
        return self.user_id[1:].split(":")[0]


class People:
    """Accounts on one server, imported ahead in one command-line run."""

    def __init__(self, server: RevierProcess, password_hash: str) -> None:
        self._server = server
        self._hash = password_hash
        self._pool: list[str] = []

    async def new(self, prefix: str = "p", *, device: str | None = None) -> Person:
        if not self._pool:
            names = [f"push-{secrets.token_hex(4)}" for _ in range(12)]
            self._pool = self._server.import_users(names, self._hash)
        user_id = self._pool.pop()
        return await log_in(self._server, user_id, device=device)


async def log_in(server: RevierProcess, user_id: str, *, device: str | None = None) -> Person:
    body: dict[str, Any] = {"type": "m.login.password", "user": user_id, "password": PASSWORD}
    if device is not None:
        body["device_id"] = device
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        r = await http.post(f"{V3}/login", json=body)
    assert r.status_code == 200, r.text
    b = r.json()
    return Person(b["user_id"], b["device_id"], b["access_token"])


def pusher(gateway: PushGateway, pushkey: str | None = None, **changes: Any) -> dict[str, Any]:
    """A /pushers/set body as Element X sends it (Android, FCM)."""
    body: dict[str, Any] = {
        "kind": "http",
        "app_id": APP_ID,
        "pushkey": pushkey or f"fcm-{secrets.token_hex(8)}",
        "app_display_name": "Element X",
        "device_display_name": "MyDevice",
        "lang": "en",
        "profile_tag": "mobile_",
        "data": {"url": gateway.url, "format": "event_id_only", "default_payload": {"cs": "s3"}},
        "append": False,
    }
    body.update(changes)
    return body


async def set_pusher(
    http: httpx.AsyncClient, person: Person, gateway: PushGateway, **changes: Any
) -> str:
    body = pusher(gateway, **changes)
    r = await http.post(f"{V3}/pushers/set", json=body, headers=person.headers)
    assert r.status_code == 200, r.text
    return str(body["pushkey"])


async def pushkeys(http: httpx.AsyncClient, person: Person) -> list[str]:
    r = await http.get(f"{V3}/pushers", headers=person.headers)
    assert r.status_code == 200, r.text
    return [p["pushkey"] for p in r.json()["pushers"]]


async def room_with(http: httpx.AsyncClient, creator: Person, *members: Person, **body: Any) -> str:
    """A room the members join without an invite (an invite would push them too)."""
    r = await http.post(
        f"{V3}/createRoom", json={"preset": "public_chat", **body}, headers=creator.headers
    )
    assert r.status_code == 200, r.text
    room_id = str(r.json()["room_id"])
    for member in members:
        joined = await http.post(f"{V3}/join/{room_id}", json={}, headers=member.headers)
        assert joined.status_code == 200, joined.text
    return room_id


async def send(
    http: httpx.AsyncClient,
    person: Person,
    room_id: str,
    content: dict[str, Any] | None = None,
    event_type: str = "m.room.message",
) -> str:
    r = await http.put(
        f"{V3}/rooms/{room_id}/send/{event_type}/{secrets.token_hex(6)}",
        json=content or {"msgtype": "m.text", "body": "Lage 14:00"},
        headers=person.headers,
    )
    assert r.status_code == 200, r.text
    return str(r.json()["event_id"])


def only(arrivals: list[Arrival], event_id: str) -> Arrival:
    """The one push about ``event_id`` among ``arrivals`` (and there is exactly one)."""
    about = [a for a in arrivals if a.notification.get("event_id") == event_id]
    assert len(about) == 1, [a.notification for a in arrivals]
    return about[0]
