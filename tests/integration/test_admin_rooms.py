"""Rooms through the admin API and CLI: listing (metadata only), closing by an
admin or the room's creator, purging — and every way back in refused."""

from __future__ import annotations

import getpass
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from nio import AsyncClient, LoginResponse, RoomCreateResponse, RoomPreset, RoomVisibility

from revier.config_file import load_settings
from revier.storage import Store
from revier.storage.engine import create_engines
from revier.storage.rooms import RoomRepos
from revier.storage.rooms.room_closures import RoomClosure
from tests.integration.admin_api import Admin, entries
from tests.integration.conftest import PASSWORD, start_server
from tests.integration.harness import INITIAL_ADMIN_PASSWORD, RevierProcess
from tests.integration.matrix import sync_until

ROOMS = "/_revier/admin/v1/rooms"
V3 = "/_matrix/client/v3"
V1 = "/_matrix/client/v1"


@pytest.fixture(scope="module")
def people(org_server: RevierProcess, password_hash: str) -> list[str]:
    """Plain accounts of the localhost tenant, imported in one go."""
    return org_server.import_users(
        [f"member-{secrets.token_hex(4)}" for _ in range(16)], password_hash
    )


@pytest.fixture
async def http(org_server: RevierProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=org_server.url, timeout=60) as client:
        yield client


Login = Callable[[], Awaitable[AsyncClient]]


@pytest.fixture
async def login(org_server: RevierProcess, people: list[str]) -> AsyncIterator[Login]:
    """Log in the next of ``people`` with matrix-nio (Host: localhost, the tenant)."""
    clients: list[AsyncClient] = []

    async def make() -> AsyncClient:
        client = AsyncClient(org_server.url.replace("127.0.0.1", "localhost"), people.pop())
        response = await client.login(PASSWORD, device_name="rooms test")
        assert isinstance(response, LoginResponse), response
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


def caller(client: AsyncClient) -> Admin:
    """A nio client's user, for raw HTTP calls (``Admin`` only for the headers)."""
    return Admin(client.user_id, "localhost", client.access_token)


async def public_room(alice: AsyncClient, bob: AsyncClient, tag: str) -> tuple[str, str]:
    """Alice's published room with an alias; Bob joins by the alias. Both are synced."""
    created = await alice.room_create(
        visibility=RoomVisibility.public,
        alias=tag,
        name=f"Lage {tag}",
        topic="Einsatzabschnitt Nord",
        preset=RoomPreset.public_chat,
    )
    assert isinstance(created, RoomCreateResponse), created
    room_id: str = created.room_id
    alias = f"#{tag}:localhost"
    await sync_until(bob, lambda r: True)
    joined = await bob.join(alias)
    assert getattr(joined, "room_id", None) == room_id, joined
    await sync_until(alice, lambda r: room_id in r.rooms.join)
    await sync_until(bob, lambda r: room_id in r.rooms.join)
    return room_id, alias


async def timeline_until_left(client: AsyncClient, room_id: str) -> list[dict[str, Any]]:
    """The room's timeline events a client receives until /sync moves it to ``leave``."""
    seen: list[dict[str, Any]] = []

    def found(response: Any) -> bool:
        for section in (response.rooms.join, response.rooms.leave):
            if room_id in section:
                seen.extend(e.source for e in section[room_id].timeline.events)
        return room_id in response.rooms.leave

    await sync_until(client, found)
    return seen


async def show(http: httpx.AsyncClient, who: Admin, room_id: str) -> dict[str, Any]:
    r = await http.get(f"{ROOMS}/{quote(room_id)}", headers=who.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def audit_actions(server: RevierProcess, admin: Admin, room_id: str) -> dict[str, Any]:
    return {e["action"]: e for e in await entries(server, admin, target=room_id)}


async def test_an_admin_closes_a_room(
    org_server: RevierProcess,
    http: httpx.AsyncClient,
    admin: Admin,
    other_admin: Admin,
    login: Login,
) -> None:
    alice, bob, carol = await login(), await login(), await login()
    tag = f"lage-{secrets.token_hex(4)}"
    room_id, alias = await public_room(alice, bob, tag)
    secret = f"geheim-{secrets.token_hex(4)}"
    await alice.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": secret})

    # The list: metadata and member counts, never content.
    r = await http.get(ROOMS, params={"search": tag.upper()}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert secret not in r.text
    [entry] = r.json()["rooms"]
    assert r.json()["total"] == 1 and "next_token" not in r.json()
    assert entry["room_id"] == room_id
    assert (entry["name"], entry["canonical_alias"]) == (f"Lage {tag}", alias)
    assert (entry["topic"], entry["creator"], entry["join_rule"]) == (
        "Einsatzabschnitt Nord",
        alice.user_id,
        "public",
    )
    assert (entry["joined_members"], entry["invited_members"]) == (2, 0)
    assert entry["public"] is True and entry["closed"] is None
    assert isinstance(entry["encrypted"], bool) and isinstance(entry["created_ts"], int)
    shown = await show(http, admin, room_id)
    assert secret not in str(shown)
    assert sorted(shown["joined_member_ids"]) == sorted([alice.user_id, bob.user_id])
    assert shown["aliases"] == [alias]

    # Who may not close it: a member who didn't create it, another tenant's
    # admin (the room doesn't exist for them), a token of another tenant, nobody.
    close = f"{ROOMS}/{quote(room_id)}/close"
    r = await http.post(close, json={}, headers=caller(carol).headers)
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    r = await http.post(close, json={}, headers=caller(bob).headers)
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    r = await http.post(close, json={}, headers=other_admin.headers)
    assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND")
    r = await http.get(f"{ROOMS}/{quote(room_id)}", headers=other_admin.headers)
    assert r.status_code == 404
    r = await http.post(close, json={}, headers={**admin.headers, "Host": "other.test"})
    assert (r.status_code, r.json()["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    r = await http.post(close, json={}, headers={"Host": "localhost"})
    assert (r.status_code, r.json()["errcode"]) == (401, "M_MISSING_TOKEN")
    r = await http.post(close, json={"reason": 5}, headers=admin.headers)
    assert (r.status_code, r.json()["errcode"]) == (400, "M_BAD_JSON")
    after = await show(http, admin, room_id)
    assert (after["closed"], after["joined_members"], after["public"]) == (None, 2, True)

    r = await http.post(close, json={"reason": "Einsatz beendet"}, headers=admin.headers)
    assert r.status_code == 200, r.text
    closed = r.json()["closed"]
    assert (closed["closed_by"], closed["reason"], closed["status"]) == (
        admin.user_id,
        "Einsatz beendet",
        "closed",
    )

    # Each member sees the notice, then their own leave with the reason.
    for client in (alice, bob):
        events = await timeline_until_left(client, room_id)
        notice = next(e for e in events if e["content"].get("msgtype") == "m.notice")
        assert f"closed by {admin.user_id} on " in notice["content"]["body"]
        assert "Reason: Einsatz beendet." in notice["content"]["body"]
        assert notice["content"]["de.revier.room_closed"] == {
            "closed_by": admin.user_id,
            "closed_ts": closed["closed_ts"],
            "reason": "Einsatz beendet",
        }
        [leave] = [
            e
            for e in events
            if e.get("state_key") == client.user_id and e["content"]["membership"] == "leave"
        ]
        assert leave["content"]["reason"] == f"Room closed by {admin.user_id}"
        assert events.index(notice) < events.index(leave)

    # No way back in: by ID, by alias, by invite; not in the directory, nor
    # publishable again. The alias is free for a new room.
    r = await http.post(f"{V3}/join/{quote(room_id)}", json={}, headers=caller(bob).headers)
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    assert admin.user_id in r.json()["error"] and "closed" in r.json()["error"]
    r = await http.post(f"{V3}/join/{quote(alias)}", json={}, headers=caller(bob).headers)
    assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND")
    r = await http.post(
        f"{V3}/rooms/{quote(room_id)}/invite",
        json={"user_id": carol.user_id},
        headers=caller(alice).headers,
    )
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    assert "closed" in r.json()["error"]
    r = await http.post(f"{V3}/knock/{quote(room_id)}", json={}, headers=caller(carol).headers)
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    assert "closed" in r.json()["error"]
    r = await http.get(f"{V3}/publicRooms", params={"limit": 1000}, headers=caller(carol).headers)
    assert room_id not in [room["room_id"] for room in r.json()["chunk"]]
    r = await http.put(
        f"{V3}/directory/list/room/{quote(room_id)}",
        json={"visibility": "public"},
        headers=admin.headers,
    )
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    again = await alice.room_create(alias=tag)
    assert isinstance(again, RoomCreateResponse), again

    after = await show(http, admin, room_id)
    assert (after["joined_members"], after["public"], after["aliases"]) == (0, False, [])
    assert after["closed"]["status"] == "closed"
    assert isinstance(after["closed"]["completed_ts"], int)

    actions = await audit_actions(org_server, admin, room_id)
    assert actions["room.closed"]["actor"] == admin.user_id
    assert actions["room.closed"]["details"]["members"] == 2
    assert actions["room.closed"]["details"]["reason"] == "Einsatz beendet"
    assert actions["room.close_completed"]["details"]["members_removed"] == 2


async def test_the_creator_closes_their_own_room(
    org_server: RevierProcess, http: httpx.AsyncClient, admin: Admin, login: Login
) -> None:
    alice, dave = await login(), await login()
    created = await alice.room_create(invite=[dave.user_id], name="Übergabe")
    assert isinstance(created, RoomCreateResponse), created
    room_id = created.room_id
    await sync_until(dave, lambda r: room_id in r.rooms.invite)
    await sync_until(alice, lambda r: room_id in r.rooms.join)
    # Not an admin: may close this room, may not purge it, may not list rooms.
    r = await http.delete(f"{ROOMS}/{quote(room_id)}", headers=caller(alice).headers)
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    r = await http.get(ROOMS, headers=caller(alice).headers)
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")

    r = await http.post(f"{ROOMS}/{quote(room_id)}/close", headers=caller(alice).headers)
    assert r.status_code == 200, r.text
    assert r.json()["closed"]["closed_by"] == alice.user_id
    # The invitee's invite is withdrawn: the room moves to `leave` for them too.
    await sync_until(dave, lambda r: room_id in r.rooms.leave)
    events = await timeline_until_left(alice, room_id)
    assert any(f"closed by {alice.user_id}" in e["content"].get("body", "") for e in events)
    r = await http.post(f"{V3}/join/{quote(room_id)}", json={}, headers=caller(dave).headers)
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    shown = await show(http, admin, room_id)
    assert (shown["joined_members"], shown["invited_members"]) == (0, 0)
    # Closing it again changes nothing.
    r = await http.post(
        f"{ROOMS}/{quote(room_id)}/close", json={"reason": "x"}, headers=admin.headers
    )
    assert r.status_code == 200 and r.json()["closed"]["closed_by"] == alice.user_id
    actions = await audit_actions(org_server, admin, room_id)
    assert actions["room.closed"]["actor"] == alice.user_id


async def test_purge_deletes_the_content_and_former_members_sync_on(
    org_server: RevierProcess,
    http: httpx.AsyncClient,
    admin: Admin,
    other_admin: Admin,
    login: Login,
) -> None:
    alice, bob, carol = await login(), await login(), await login()
    room_id, _ = await public_room(alice, bob, f"purge-{secrets.token_hex(4)}")
    sent = await alice.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": "x"})
    event_id = sent.event_id  # type: ignore[union-attr]
    thread = {"rel_type": "m.thread", "event_id": event_id}
    await bob.room_send(room_id, "m.room.message", {"body": "y", "m.relates_to": thread})
    await sync_until(bob, lambda r: room_id in r.rooms.join)

    path = f"{ROOMS}/{quote(room_id)}"
    r = await http.delete(path, headers=caller(carol).headers)
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    r = await http.delete(path, headers=other_admin.headers)
    assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND")
    r = await http.delete(path, headers={"Host": "localhost"})
    assert r.status_code == 401
    assert (await show(http, admin, room_id))["closed"] is None

    r = await http.delete(path, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["closed"]["status"] == "purged"

    # Bob hadn't synced since: his next /sync says once that he left, then no more.
    response = await sync_until(bob, lambda r: r if room_id in r.rooms.leave else None)
    assert response.rooms.leave[room_id].timeline.events == []
    quiet = await bob.sync(timeout=0)
    assert room_id not in quiet.rooms.leave  # type: ignore[union-attr]
    # A fresh client's initial sync (with left rooms) works too.
    r = await http.get(
        f"{V3}/sync",
        params={"filter": '{"room": {"include_leave": true}}'},
        headers=caller(alice).headers,
    )
    assert r.status_code == 200, r.text

    # The events are gone for everyone, former members included.
    room = f"{V3}/rooms/{quote(room_id)}"
    for who in (caller(alice), caller(bob), admin):
        r = await http.get(f"{room}/messages", params={"dir": "b"}, headers=who.headers)
        assert r.status_code == 403, r.text
        r = await http.get(f"{room}/event/{quote(event_id)}", headers=who.headers)
        assert r.status_code in (403, 404), r.text
        r = await http.get(f"{room}/context/{quote(event_id)}", headers=who.headers)
        assert r.status_code in (403, 404), r.text
        r = await http.get(f"{room}/state", headers=who.headers)
        assert r.status_code == 403, r.text
        # Its threads and relations are gone with it.
        r = await http.get(f"{V1}/rooms/{quote(room_id)}/threads", headers=who.headers)
        assert r.status_code == 403 or r.json()["chunk"] == [], r.text
        r = await http.get(
            f"{V1}/rooms/{quote(room_id)}/relations/{quote(event_id)}", headers=who.headers
        )
        assert r.status_code == 404, r.text
    r = await http.post(f"{V3}/join/{quote(room_id)}", json={}, headers=caller(bob).headers)
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")

    shown = await show(http, admin, room_id)
    assert shown["closed"]["status"] == "purged"
    assert (shown["name"], shown["joined_members"], shown["joined_member_ids"]) == (None, 0, [])
    r = await http.delete(path, headers=admin.headers)
    assert r.status_code == 200 and r.json()["closed"]["status"] == "purged"

    actions = await audit_actions(org_server, admin, room_id)
    assert {"room.closed", "room.purged", "room.close_completed"} <= set(actions)
    assert actions["room.purged"]["actor"] == admin.user_id
    assert actions["room.close_completed"]["details"]["events_deleted"] > 0


async def test_bad_requests_get_matrix_errors(http: httpx.AsyncClient, admin: Admin) -> None:
    for path in (f"{ROOMS}/not-a-room", f"{ROOMS}/%23alias:localhost"):
        r = await http.get(path, headers=admin.headers)
        assert (r.status_code, r.json()["errcode"]) == (400, "M_INVALID_PARAM")
    r = await http.get(f"{ROOMS}/!nope:localhost", headers=admin.headers)
    assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND")
    r = await http.post(f"{ROOMS}/!nope:localhost/close", content=b"{", headers=admin.headers)
    assert (r.status_code, r.json()["errcode"]) == (400, "M_NOT_JSON")
    # "²" passes str.isdigit but is no number int() takes: once a 500.
    for params in ({"limit": "0"}, {"from": "x"}, {"from": "²"}, {"search": "x" * 300}):
        r = await http.get(ROOMS, params=params, headers=admin.headers)
        assert (r.status_code, r.json()["errcode"]) == (400, "M_INVALID_PARAM")


async def test_paging(http: httpx.AsyncClient, admin: Admin, login: Login) -> None:
    alice = await login()
    for _ in range(3):
        assert isinstance(await alice.room_create(), RoomCreateResponse)
    r = await http.get(ROOMS, params={"limit": 2}, headers=admin.headers)
    first = r.json()
    assert len(first["rooms"]) == 2 and first["total"] >= 3, first
    r = await http.get(
        ROOMS, params={"limit": 2, "from": first["next_token"]}, headers=admin.headers
    )
    second = r.json()["rooms"]
    assert {e["room_id"] for e in first["rooms"]}.isdisjoint(e["room_id"] for e in second)
    created = [e["created_ts"] for e in first["rooms"] + second]
    assert created == sorted(created, reverse=True)


@pytest.mark.one_engine  # the command line on PostgreSQL is covered by test_cli.py
async def test_the_command_line(
    org_server: RevierProcess, http: httpx.AsyncClient, admin: Admin, login: Login
) -> None:
    alice, bob = await login(), await login()
    tag = f"cli-{secrets.token_hex(4)}"
    room_id, alias = await public_room(alice, bob, tag)

    listed = org_server.admin("room", "list", "--search", tag)
    assert room_id in listed and "2 joined" in listed
    refused = org_server.admin("room", "purge", room_id, check=False)
    assert "needs --yes" in refused and "nothing purged" in refused
    assert (await show(http, admin, room_id))["closed"] is None

    out = org_server.admin("room", "close", alias, "--reason", "Übung beendet")
    assert f"{room_id} closed" in out and "members taken out: 2" in out
    events = await timeline_until_left(bob, room_id)
    assert any("closed by an administrator" in e["content"].get("body", "") for e in events)
    out = org_server.admin("room", "purge", room_id, "--yes")
    assert f"{room_id} purged" in out and "events deleted: " in out

    actions = await audit_actions(org_server, admin, room_id)
    for action in ("room.closed", "room.purged"):
        assert actions[action]["actor"] == f"cli:{getpass.getuser()}"
        assert actions[action]["source"] == "local"


@pytest.mark.one_engine
async def test_an_interrupted_purge_is_finished_at_start_up(
    engine: str, request: pytest.FixtureRequest, tmp_root: Path, password_hash: str
) -> None:
    server = start_server(engine, request, tmp_root, "resume")
    try:
        alice_id, bob_id = server.import_users(
            [f"member-{secrets.token_hex(4)}" for _ in range(2)], password_hash
        )
        alice, bob = AsyncClient(server.url, alice_id), AsyncClient(server.url, bob_id)
        for client in (alice, bob):
            assert isinstance(await client.login(PASSWORD), LoginResponse)
        try:
            room_id, _ = await public_room(alice, bob, f"resume-{secrets.token_hex(4)}")
        finally:
            await alice.close()
            await bob.close()
        # What a crash right after step 1 leaves behind: the closure, not completed.
        server.stop(kill=True)
        store = Store(create_engines(load_settings(server.config).database_url))
        async with store.transaction() as tx:
            await RoomRepos.of(tx).room_closures.insert(
                RoomClosure(room_id, "localhost", alice_id, 1, None, True, None)
            )
        await store.close()
        server.start()

        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            r = await http.post(
                f"{V3}/login",
                json={
                    "type": "m.login.password",
                    "user": "admin",
                    "password": INITIAL_ADMIN_PASSWORD,
                },
            )
            admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
            # The server resumed the job on its own: Bob's long poll sees his leave.
            bob_auth = {"Authorization": f"Bearer {bob.access_token}"}
            since = bob.next_batch
            for _ in range(10):
                r = await http.get(
                    f"{V3}/sync", params={"since": since, "timeout": 5000}, headers=bob_auth
                )
                since = r.json()["next_batch"]
                if room_id in r.json()["rooms"].get("leave", {}):
                    break
            else:
                raise AssertionError("the interrupted closing was not resumed")
            # Closing it again waits for the job under way (or finds it done).
            r = await http.post(f"{ROOMS}/{quote(room_id)}/close", headers=admin)
            assert r.status_code == 200, r.text
            assert r.json()["closed"]["status"] == "purged"
            r = await http.get(
                f"{V3}/rooms/{quote(room_id)}/messages", params={"dir": "b"}, headers=bob_auth
            )
            assert r.status_code == 403, r.text
    finally:
        server.stop()
