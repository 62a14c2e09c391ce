"""Units from the directory's groups (a real slapd): a sync makes each group a
unit (a nested group a child unit), joiners are joined to their unit's rooms,
and a mover — moved to another group in the directory — leaves the old unit's
rooms and joins the new one's: their matrix-nio client stops receiving the old
room's messages.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from bench.ldap import LdapServer, person_password, slapd_missing
from nio import AsyncClient, LoginResponse, RoomMessageText, SyncResponse

from tests.integration.admin_api import login
from tests.integration.conftest import LOOSE_LIMIT, running_server
from tests.integration.harness import INITIAL_ADMIN_PASSWORD, RevierProcess
from tests.integration.matrix import sync_until

SYNC = "/_revier/admin/v1/directory/sync"
UNITS = "/_revier/admin/v1/units"
PEOPLE = [("anna", "Anna Adler"), ("ben", "Ben Berger"), ("carl", "Carl Claus")]
GROUPS = {
    "police": ["group:station-north", "group:station-south"],
    "station-north": ["anna", "ben"],
    "station-south": ["carl"],
}

pytestmark = pytest.mark.skipif(slapd_missing() is not None, reason=str(slapd_missing()))


@pytest.fixture(scope="module")
def ldap(tmp_root: Path, engine: str) -> Iterator[LdapServer]:
    server = LdapServer(tmp_root / f"slapd-units-{engine}")
    server.start(PEOPLE, GROUPS)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def server(
    engine: str, request: pytest.FixtureRequest, tmp_root: Path, ldap: LdapServer
) -> Iterator[RevierProcess]:
    with running_server(
        engine,
        request,
        tmp_root,
        "directory-units",
        ratelimit__login_per_address=LOOSE_LIMIT,
        # The clients write in the clear into the (encrypted) unit rooms.
        tenant_policy={"plaintext_in_encrypted_rooms": "allow"},
        tenant_sections={"directory": {"ldap": ldap.settings()}},
    ) as revier:
        yield revier


@pytest.fixture(scope="module")
def admin(server: RevierProcess) -> dict[str, str]:
    r = login(server, "admin", INITIAL_ADMIN_PASSWORD)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def sync(server: RevierProcess, admin: dict[str, str]) -> dict[str, Any]:
    r = httpx.post(server.url + SYNC, json={}, headers=admin, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def units_by_name(server: RevierProcess, admin: dict[str, str]) -> dict[str, dict[str, Any]]:
    r = httpx.get(server.url + UNITS, headers=admin)
    assert r.status_code == 200, r.text
    found: dict[str, dict[str, Any]] = {}

    def walk(nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            found[node["name"]] = node
            walk(node["children"])

    walk(r.json()["units"])
    return found


async def nio(server: RevierProcess, localpart: str) -> AsyncClient:
    client = AsyncClient(server.url, f"@{localpart}:localhost")
    response = await client.login(person_password(localpart), device_name="directory test")
    assert isinstance(response, LoginResponse), response
    return client


@pytest.fixture(scope="module")
def unit_rooms(server: RevierProcess, admin: dict[str, str]) -> dict[str, str]:
    """The first sync, then one auto_join room attached to each station."""
    done = sync(server, admin)
    assert done["done"]["created"] == 3
    assert done["plan"]["counts"]["units"] == 3
    units = units_by_name(server, admin)
    # The nested groups are child units of the group they are members of.
    assert units["station-north"]["parent_id"] == units["police"]["unit_id"]
    assert units["station-south"]["parent_id"] == units["police"]["unit_id"]
    rooms = {}
    for station in ("station-north", "station-south"):
        r = httpx.post(
            f"{server.url}{UNITS}/{units[station]['unit_id']}/rooms",
            json={"name": f"{station} ops", "rule": "auto_join"},
            headers=admin,
        )
        assert r.status_code == 200, r.text
        rooms[station] = r.json()["room_id"]
    return rooms


@pytest.fixture
async def anna(server: RevierProcess) -> AsyncIterator[AsyncClient]:
    client = await nio(server, "anna")
    yield client
    await client.close()


@pytest.fixture
async def ben(server: RevierProcess) -> AsyncIterator[AsyncClient]:
    client = await nio(server, "ben")
    yield client
    await client.close()


async def test_joiners_are_in_their_units_rooms(
    server: RevierProcess, unit_rooms: dict[str, str], anna: AsyncClient
) -> None:
    north = unit_rooms["station-north"]
    await sync_until(anna, lambda r: north in r.rooms.join, timeout_s=30)
    assert unit_rooms["station-south"] not in anna.rooms


async def test_a_mover_stops_receiving_the_old_units_messages(
    server: RevierProcess,
    admin: dict[str, str],
    ldap: LdapServer,
    unit_rooms: dict[str, str],
    anna: AsyncClient,
    ben: AsyncClient,
) -> None:
    north, south = unit_rooms["station-north"], unit_rooms["station-south"]
    await sync_until(anna, lambda r: north in r.rooms.join or north in anna.rooms, timeout_s=30)
    await sync_until(ben, lambda r: north in r.rooms.join or north in ben.rooms, timeout_s=30)
    ldap.remove_member("station-north", "anna")
    ldap.add_member("station-south", "anna")
    done = sync(server, admin)
    assert done["plan"]["move"] == [
        {
            "user_id": "@anna:localhost",
            "join": [units_by_name(server, admin)["station-south"]["external_id"]],
            "leave": [units_by_name(server, admin)["station-north"]["external_id"]],
        }
    ]
    assert done["done"]["moved"] == 1

    def left_north_and_joined_south(r: SyncResponse) -> bool:
        return north in r.rooms.leave or (south in anna.rooms and north not in anna.rooms)

    await sync_until(anna, left_north_and_joined_south, timeout_s=30)
    await sync_until(anna, lambda r: south in anna.rooms, timeout_s=30)
    sent = await ben.room_send(
        north, "m.room.message", {"msgtype": "m.text", "body": "north only, after the move"}
    )
    assert not hasattr(sent, "status_code"), (sent.message, sent.status_code)  # type: ignore[union-attr]
    # Anna's next syncs carry nothing of the old room.
    for _ in range(3):
        response = await anna.sync(timeout=500)
        assert isinstance(response, SyncResponse)
        joined = response.rooms.join.get(north)
        assert joined is None or not any(
            isinstance(e, RoomMessageText) and "north only" in e.body
            for e in joined.timeline.events
        )
    # ... and she can't read it either.
    async with httpx.AsyncClient(base_url=server.url) as http:
        r = await http.get(
            f"/_matrix/client/v3/rooms/{north}/messages?dir=b&limit=5",
            headers={"Authorization": f"Bearer {anna.access_token}"},
        )
    assert "north only" not in r.text
    # A second sync finds nothing to do.
    again = sync(server, admin)
    assert again["plan"]["counts"]["move"] == 0 and again["plan"]["counts"]["units"] == 0
