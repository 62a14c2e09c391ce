"""Server-side search (POST /search): what is found, in which order and pages, with
what around it, and that nobody finds what they could not read via /messages."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from nio import AsyncClient, LoginResponse, RoomSendResponse

from tests.integration.admin_api import new_admin
from tests.integration.conftest import (
    LOOSE_LIMIT,
    PASSWORD,
    Account,
    server_fixture,
)
from tests.integration.harness import RevierProcess
from tests.integration.steps import (
    V3,
    Session,
    account_data,
    create_room,
    invite,
    join,
    leave,
    log_in,
    people,
    say,
    set_state,
    shared_room,
)

# Rooms unencrypted unless asked (search covers those alone), plaintext allowed into
# encrypted rooms (to show it is still not indexed), and a second tenant.
server = server_fixture(
    "search",
    extra_tenants=("other.test",),
    tenant_policy={"room_encryption": "optional", "plaintext_in_encrypted_rooms": "allow"},
    ratelimit__login_per_address=LOOSE_LIMIT,
    ratelimit__search=LOOSE_LIMIT,
)


def localhost(server: RevierProcess) -> str:
    """The server's address under the name of its first tenant (it serves two)."""
    return server.url.replace("127.0.0.1", "localhost")


@pytest.fixture
async def http(server: RevierProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=localhost(server), timeout=30) as client:
        yield client


MEGOLM = {"algorithm": "m.megolm.v1.aes-sha2"}
HOSTILE = [
    '"',
    '"unbalanced',
    "NEAR(a b",
    "NEAR(",
    "*",
    "a*",
    "col:umn",
    ":",
    "&|!",
    "a & | ! b",
    "!(x)",
    "'",
    "''",
    "\\",
    "\x00",
    "a\x00b",
    "AND OR NOT",
    "^a",
    "{a b}:c",
    "-",
    "(",
    ")",
    "<->",
    "x:*",
    "🚓 Einsatz",
    "a" * 1000,
    "w " * 20,
]


async def search(
    http: httpx.AsyncClient, s: Session, term: str, next_batch: str | None = None, **criteria: Any
) -> dict[str, Any]:
    r = await search_raw(http, s, {"search_term": term, **criteria}, next_batch)
    assert r.status_code == 200, r.text
    return dict(r.json()["search_categories"]["room_events"])


async def search_raw(
    http: httpx.AsyncClient, s: Session, criteria: Any, next_batch: str | None = None
) -> httpx.Response:
    params = {"next_batch": next_batch} if next_batch else {}
    body = {"search_categories": {"room_events": criteria}}
    return await http.post(f"{V3}/search", params=params, json=body, headers=s.headers)


def found(body: dict[str, Any]) -> list[str]:
    return [r["result"]["event_id"] for r in body["results"]]


async def all_pages(http: httpx.AsyncClient, s: Session, term: str, **criteria: Any) -> list[str]:
    ids: list[str] = []
    token: str | None = None
    for _ in range(50):
        body = await search(http, s, term, token, **criteria)
        ids += found(body)
        token = body.get("next_batch")
        if token is None:
            return ids
    raise AssertionError("pagination did not end")


async def test_finds_by_body_name_and_topic(http: httpx.AsyncClient, make_user: Any) -> None:
    (alice,) = await people(http, make_user, "alice")
    room_id = await create_room(
        http, alice, name="Einsatzraum Nord", topic="Lagebesprechung täglich"
    )
    message = await say(http, alice, room_id, "Fahrzeug 12 am Hauptbahnhof, Kennzeichen B-XY 12")

    body = await search(http, alice, "hauptbahn")
    assert found(body) == [message] and body["count"] == 1
    assert body["results"][0]["result"]["content"]["body"].startswith("Fahrzeug")
    assert {"hauptbahn", "hauptbahnhof"} <= set(body["highlights"])
    assert body["results"][0]["rank"] > 0
    # Every word must match, each as a prefix, in any case.
    assert found(await search(http, alice, "FAHRZEUG kennz")) == [message]
    assert found(await search(http, alice, "fahrzeug feuerwehr")) == []

    [name] = (await search(http, alice, "Einsatzraum"))["results"]
    assert (name["result"]["type"], name["result"]["content"]["name"]) == (
        "m.room.name",
        "Einsatzraum Nord",
    )
    [topic] = (await search(http, alice, "lagebesprechung"))["results"]
    assert topic["result"]["type"] == "m.room.topic"
    # m.topic's text/plain body counts as the topic too.
    await set_state(
        http,
        alice,
        room_id,
        "m.room.topic",
        {"topic": "", "m.topic": {"m.text": [{"body": "Funkstille ab 22 Uhr"}]}},
    )
    assert len(found(await search(http, alice, "funkstille"))) == 1

    # Keys restrict where the words are looked for; the filter narrows further.
    assert found(await search(http, alice, "einsatzraum", keys=["content.body"])) == []
    assert len(found(await search(http, alice, "einsatzraum", keys=["content.name"]))) == 1
    flt = {"types": ["m.room.message"]}
    assert found(await search(http, alice, "einsatzraum", filter=flt)) == []
    assert found(await search(http, alice, "fahrzeug", filter={"not_rooms": [room_id]})) == []
    assert found(await search(http, alice, "fahrzeug", filter={"rooms": [room_id]})) == [message]
    assert found(await search(http, alice, "fahrzeug", filter={"senders": ["@x:localhost"]})) == []


async def test_rank_and_recent_order(http: httpx.AsyncClient, make_user: Any) -> None:
    (alice,) = await people(http, make_user, "alice")
    room_id = await create_room(http, alice)
    strong = await say(http, alice, room_id, "Alarm Alarm Alarm")
    weak = await say(
        http, alice, room_id, "Heute war ein ruhiger Tag, später ein Alarm, sonst nichts"
    )
    newest = await say(http, alice, room_id, "Alarm und noch etwas mehr Text dazu")

    ranked = await search(http, alice, "alarm")
    assert found(ranked)[0] == strong and set(found(ranked)) == {strong, weak, newest}
    ranks = [r["rank"] for r in ranked["results"]]
    assert ranks == sorted(ranks, reverse=True)
    assert found(await search(http, alice, "alarm", order_by="recent")) == [newest, weak, strong]


async def test_pages_hold_every_result_exactly_once(
    http: httpx.AsyncClient, make_user: Any
) -> None:
    (alice,) = await people(http, make_user, "alice")
    room_id = await create_room(http, alice)
    sent = [
        await say(http, alice, room_id, "Streife " + "weiter " * (i % 4) + str(i))
        for i in range(23)
    ]
    for order in ("rank", "recent"):
        ids = await all_pages(http, alice, "streife", order_by=order, filter={"limit": 4})
        assert sorted(ids) == sorted(sent) and len(ids) == len(set(ids)), order
    first = await search(http, alice, "streife", filter={"limit": 4}, order_by="recent")
    assert first["count"] == 23 and found(first) == sent[::-1][:4]
    # A token of one order is refused in the other; a made-up token is refused.
    assert "next_batch" in first
    r = await search_raw(http, alice, {"search_term": "streife"}, first["next_batch"])
    assert (r.status_code, r.json()["errcode"]) == (400, "M_INVALID_PARAM")
    for bad in ("x", "e30", "WyJyYW5rIiwxLDEsMSwxXQ", "%%%"):
        r = await search_raw(http, alice, {"search_term": "streife"}, bad)
        assert (r.status_code, r.json()["errcode"]) == (400, "M_INVALID_PARAM"), bad
    # A message arriving between pages does not shift them.
    second_token = first["next_batch"]
    await say(http, alice, room_id, "Streife neu")
    second = await search(
        http, alice, "streife", second_token, filter={"limit": 4}, order_by="recent"
    )
    assert found(second) == sent[::-1][4:8]


async def test_event_context_and_profiles(http: httpx.AsyncClient, make_user: Any) -> None:
    alice, bob = await people(http, make_user, "alice", "bob")
    room_id = await shared_room(http, alice, bob)
    await set_state(
        http,
        bob,
        room_id,
        "m.room.member",
        {"membership": "join", "displayname": "Bernd"},
        bob.user_id,
    )
    before = [await say(http, alice, room_id, f"vorher {i}") for i in range(3)]
    hit = await say(http, bob, room_id, "Zugriff jetzt")
    after = [await say(http, alice, room_id, f"nachher {i}") for i in range(2)]
    context = {"before_limit": 2, "after_limit": 1, "include_profile": True}

    [result] = (await search(http, alice, "zugriff", event_context=context))["results"]
    ctx = result["context"]
    assert [e["event_id"] for e in ctx["events_before"]] == [before[2], before[1]]
    assert [e["event_id"] for e in ctx["events_after"]] == [after[0]]
    assert ctx["profile_info"][bob.user_id] == {"displayname": "Bernd"}
    assert alice.user_id in ctx["profile_info"]
    assert result["result"]["event_id"] == hit
    # The tokens page on through /messages from the context's edges.
    r = await http.get(
        f"{V3}/rooms/{room_id}/messages",
        params={"from": ctx["start"], "dir": "b", "limit": 1},
        headers=alice.headers,
    )
    assert [e["event_id"] for e in r.json()["chunk"]] == [before[0]]
    r = await http.get(
        f"{V3}/rooms/{room_id}/messages",
        params={"from": ctx["end"], "dir": "f", "limit": 5},
        headers=alice.headers,
    )
    assert [e["event_id"] for e in r.json()["chunk"]] == [after[1]]
    # Defaults: five each side, no profiles.
    [plain] = (await search(http, alice, "zugriff", event_context={}))["results"]
    assert len(plain["context"]["events_before"]) == 5 and "profile_info" not in plain["context"]
    r = await search_raw(
        http, alice, {"search_term": "zugriff", "event_context": {"before_limit": -1}}
    )
    assert (r.status_code, r.json()["errcode"]) == (400, "M_INVALID_PARAM")


async def test_groups_and_state(http: httpx.AsyncClient, make_user: Any) -> None:
    alice, bob = await people(http, make_user, "alice", "bob")
    north = await shared_room(http, alice, bob, name="Nord")
    south = await shared_room(http, alice, bob, name="Süd")
    sent = {
        north: [await say(http, alice, north, f"Meldung {i}") for i in range(3)],
        south: [await say(http, bob, south, f"Meldung {i}") for i in range(3)],
    }
    groupings = {"group_by": [{"key": "room_id"}, {"key": "sender"}]}
    body = await search(
        http,
        alice,
        "meldung",
        order_by="recent",
        groupings=groupings,
        include_state=True,
        filter={"limit": 4},
    )
    rooms = body["groups"]["room_id"]
    assert rooms[south]["results"] == sent[south][::-1] and rooms[south]["order"] == 1
    assert rooms[north]["results"] == [sent[north][2]] and rooms[north]["order"] == 2
    senders = body["groups"]["sender"]
    assert senders[bob.user_id]["results"] == sent[south][::-1]
    # A group's token goes on within that group alone.
    rest = await search(
        http, alice, "meldung", rooms[north]["next_batch"], order_by="recent", filter={"limit": 4}
    )
    assert found(rest) == sent[north][:2][::-1]
    # The rooms' current state comes with the results.
    assert set(body["state"]) == {north, south}
    names = [e["content"]["name"] for e in body["state"][north] if e["type"] == "m.room.name"]
    assert names == ["Nord"]
    r = await search_raw(http, alice, {"search_term": "x", "groupings": {"group_by": [{}]}})
    assert (r.status_code, r.json()["errcode"]) == (400, "M_INVALID_PARAM")


async def test_only_what_the_searcher_could_read(
    server: RevierProcess, http: httpx.AsyncClient, make_user: Any
) -> None:
    alice, bob, carol, dave = await people(http, make_user, "alice", "bob", "carol", "dave")
    tag = "geheim" + secrets.token_hex(3)
    room_id = await shared_room(http, alice, bob)
    early = await say(http, alice, room_id, f"{tag} eins")
    # A non-member finds nothing of the room, even naming it in the filter.
    assert found(await search(http, carol, tag)) == []
    assert found(await search(http, carol, tag, filter={"rooms": [room_id]})) == []

    # Who left finds what was said before, not after.
    await leave(http, bob, room_id)
    late = await say(http, alice, room_id, f"{tag} zwei")
    assert found(await search(http, bob, tag)) == [early]
    assert found(await search(http, alice, tag, order_by="recent")) == [late, early]

    # Joined visibility: who joins later does not find what came before.
    await set_state(
        http, alice, room_id, "m.room.history_visibility", {"history_visibility": "joined"}
    )
    hidden = await say(http, alice, room_id, f"{tag} drei")
    await invite(http, alice, room_id, dave.user_id)
    await join(http, dave, room_id)
    seen = await say(http, alice, room_id, f"{tag} vier")
    # What was said while the room was "shared" (the default) stays findable for
    # who joins later, as /messages shows it.
    assert found(await search(http, dave, tag, order_by="recent")) == [seen, late, early]
    assert hidden in found(await search(http, alice, tag))
    # An invited user (not joined yet) finds nothing either.
    await invite(http, alice, room_id, carol.user_id)
    assert found(await search(http, carol, tag)) == []

    # Another tenant's user finds nothing, whatever they search.
    server.create_user("fremd", PASSWORD, "--tenant", "other.test")
    stranger = await log_in(
        http, Account("@fremd:other.test", "fremd", PASSWORD), Host="other.test"
    )
    assert found(await search(http, stranger, tag)) == []

    # The events of ignored users are left out.
    await account_data(http, dave, "m.ignored_user_list", {"ignored_users": {alice.user_id: {}}})
    assert found(await search(http, dave, tag)) == []


async def test_encrypted_rooms_give_nothing(http: httpx.AsyncClient, make_user: Any) -> None:
    (alice,) = await people(http, make_user, "alice")
    encryption = {
        "type": "m.room.encryption",
        "state_key": "",
        "content": {"algorithm": "m.megolm.v1.aes-sha2"},
    }
    secret = await create_room(http, alice, name="Verdeckt", initial_state=[encryption])
    await say(http, alice, secret, "Klartext im verschlüsselten Raum")
    assert found(await search(http, alice, "klartext")) == []
    assert found(await search(http, alice, "verdeckt")) == []

    # A room that turns encrypted leaves the index with what it held before.
    later = await create_room(http, alice)
    await say(http, alice, later, "Vorher offen gesagt")
    assert len(found(await search(http, alice, "offen"))) == 1
    await set_state(http, alice, later, "m.room.encryption", MEGOLM)
    assert found(await search(http, alice, "offen")) == []


async def test_redacted_and_purged_events_are_not_found(
    server: RevierProcess, http: httpx.AsyncClient, make_user: Any
) -> None:
    alice, bob = await people(http, make_user, "alice", "bob")
    room_id = await shared_room(http, alice, bob)
    gone = await say(http, alice, room_id, "Versehen gesendet Adresse")
    kept = await say(http, alice, room_id, "Adresse bleibt")
    r = await http.put(
        f"{V3}/rooms/{room_id}/redact/{quote(gone)}/{secrets.token_hex(4)}",
        json={"reason": "falscher Raum"},
        headers=alice.headers,
    )
    assert r.status_code == 200, r.text
    assert found(await search(http, bob, "adresse")) == [kept]
    assert found(await search(http, bob, "versehen")) == []

    admin = new_admin(server)
    r = await http.delete(
        f"/_revier/admin/v1/rooms/{quote(room_id)}",
        headers={"Authorization": f"Bearer {admin.token}"},
    )
    assert r.status_code == 200, r.text
    assert found(await search(http, bob, "adresse")) == []


async def test_hostile_search_terms_never_fail(http: httpx.AsyncClient, make_user: Any) -> None:
    (alice,) = await people(http, make_user, "alice")
    room_id = await create_room(http, alice)
    await say(http, alice, room_id, 'Zitat "NEAR(a b" col:umn & | ! * a\x00b')
    for term in [*HOSTILE, "a" * 1001, "w " * 21]:
        for order in ("rank", "recent"):
            r = await search_raw(http, alice, {"search_term": term, "order_by": order})
            assert r.status_code in (200, 400), (term[:20], r.text)
            if r.status_code == 400:
                assert r.json()["errcode"] == "M_INVALID_PARAM", term[:20]
    assert len(found(await search(http, alice, '"near(a'))) == 1
    assert len(found(await search(http, alice, "col:umn"))) == 1
    for bad, errcode in (
        ({}, "M_MISSING_PARAM"),
        ({"search_term": 5}, "M_BAD_JSON"),
        ({"search_term": "x", "keys": ["content.secret"]}, "M_INVALID_PARAM"),
        ({"search_term": "x", "order_by": "oldest"}, "M_INVALID_PARAM"),
        ({"search_term": "x", "filter": "nope"}, "M_BAD_JSON"),
    ):
        r = await search_raw(http, alice, bad)
        assert (r.status_code, r.json()["errcode"]) == (400, errcode), bad
    r = await http.post(f"{V3}/search", json={}, headers=alice.headers)
    assert (r.status_code, r.json()["errcode"]) == (400, "M_MISSING_PARAM")
    r = await http.post(f"{V3}/search", json={"search_categories": {}}, headers=alice.headers)
    assert r.json() == {"search_categories": {}}
    r = await http.post(f"{V3}/search", json={"search_categories": {}})
    assert r.status_code == 401


async def test_nio_clients_find_only_their_rooms(server: RevierProcess, make_user: Any) -> None:
    clients = []
    for name in ("alice", "bob", "eve"):
        account = make_user(name)
        client = AsyncClient(localhost(server), account.user_id)
        assert isinstance(await client.login(PASSWORD), LoginResponse)
        clients.append(client)
    alice, bob, eve = clients
    try:
        created = await alice.room_create(invite=[bob.user_id], name="Lage")
        room_id = created.room_id  # type: ignore[union-attr]
        await bob.join(room_id)
        sent = await alice.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": "Übergabe um 18 Uhr"}
        )
        assert isinstance(sent, RoomSendResponse)
        async with httpx.AsyncClient(base_url=localhost(server)) as http:
            for client, expected in ((bob, [sent.event_id]), (eve, [])):
                headers = {"Authorization": f"Bearer {client.access_token}"}
                body = {"search_categories": {"room_events": {"search_term": "übergabe"}}}
                r = await http.post(f"{V3}/search", json=body, headers=headers)
                assert r.status_code == 200, r.text
                assert found(r.json()["search_categories"]["room_events"]) == expected
    finally:
        for client in (alice, bob, eve):
            await client.close()
