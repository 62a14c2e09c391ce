"""Relations and threads leak nothing: who couldn't read an event can't read its
children either, nor learn how many there are or what the newest says."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.relations import (
    bundle,
    edit,
    get_event,
    relates,
    relation_ids,
    relations_of,
    thread_reply,
    threads,
)
from tests.integration.steps import (
    create_room,
    invite,
    join,
    leave,
    people,
    say,
    send,
    set_state,
    shared_room,
)

V3 = "/_matrix/client/v3"


async def test_a_stranger_learns_nothing_of_a_rooms_threads(
    http: httpx.AsyncClient, make_user: Any
) -> None:
    alice, bob, mallory = await people(http, make_user, "alice", "bob", "mallory")
    room_id = await shared_room(http, alice, bob)
    root = await say(http, alice, room_id, "vertraulich")
    await thread_reply(http, bob, room_id, root, "auch vertraulich")
    # The spec's only answer for /relations is 404: the room's existence stays hidden.
    for path in ((), ("m.thread",), ("m.thread", "m.room.message")):
        r = await relations_of(http, mallory, room_id, root, *path)
        assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND"), path
    r = await relations_of(http, mallory, "!nosuchroom:localhost", root)
    assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND")
    r = await threads(http, mallory, room_id)
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    r = await threads(http, mallory, "!nosuchroom:localhost")
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    # A real event ID, asked for in a room of mallory's own: not there.
    own = await create_room(http, mallory)
    r = await relations_of(http, mallory, own, root)
    assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND")


async def test_who_left_sees_a_thread_as_it_was_when_they_left(
    http: httpx.AsyncClient, make_user: Any
) -> None:
    alice, bob, eve = await people(http, make_user, "alice", "bob", "eve")
    room_id = await shared_room(http, alice, bob, eve)
    root = await say(http, alice, room_id, "Einsatzplan")
    seen = await thread_reply(http, bob, room_id, root, "Gruppe 1 bereit")
    original = await say(http, alice, room_id, "Treffpunkt Tor 1")
    await leave(http, eve, room_id)
    await thread_reply(http, bob, room_id, root, "Zugriff 05:30")
    await thread_reply(http, alice, room_id, root, "Zielperson: ...")
    await edit(http, alice, room_id, original, "Treffpunkt Tor 3")

    thread = bundle(await get_event(http, eve, room_id, root))["m.thread"]
    assert thread["count"] == 1
    assert thread["latest_event"]["event_id"] == seen
    assert "m.replace" not in bundle(await get_event(http, eve, room_id, original))
    assert await relation_ids(http, eve, room_id, root) == [seen]
    assert await relation_ids(http, eve, room_id, root, recurse="true") == [seen]
    r = await threads(http, eve, room_id)
    assert r.status_code == 200, r.text
    assert bundle(r.json()["chunk"][0])["m.thread"]["count"] == 1
    # Who stayed sees it all.
    assert bundle(await get_event(http, bob, room_id, root))["m.thread"]["count"] == 3


async def test_a_newcomer_to_a_joined_only_room_sees_no_earlier_thread(
    http: httpx.AsyncClient, make_user: Any
) -> None:
    alice, bob, dave = await people(http, make_user, "alice", "bob", "dave")
    room_id = await shared_room(http, alice, bob)
    await set_state(
        http, alice, room_id, "m.room.history_visibility", {"history_visibility": "joined"}
    )
    root = await say(http, alice, room_id, "vor Daves Zeit")
    await thread_reply(http, bob, room_id, root, "auch davor")
    await invite(http, alice, room_id, dave.user_id)
    await join(http, dave, room_id)
    after = await thread_reply(http, bob, room_id, root, "nach Daves Beitritt")

    r = await relations_of(http, dave, room_id, root)
    assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND")
    r = await http.get(f"{V3}/rooms/{room_id}/event/{root}", headers=dave.headers)
    assert r.status_code == 404
    r = await threads(http, dave, room_id)
    assert r.status_code == 200 and r.json()["chunk"] == [], r.text
    # He sees the reply sent while he was there, and nothing that summarises the rest.
    reply = await get_event(http, dave, room_id, after)
    assert reply["content"]["body"] == "nach Daves Beitritt" and bundle(reply) == {}
    # His own thread, from then on, is his to see whole.
    mine = await say(http, dave, room_id, "neue Frage")
    await thread_reply(http, bob, room_id, mine, "Antwort")
    r = await threads(http, dave, room_id)
    assert [e["event_id"] for e in r.json()["chunk"]] == [mine]
    assert bundle(r.json()["chunk"][0])["m.thread"]["current_user_participated"] is True


async def test_relations_across_rooms_are_ignored(http: httpx.AsyncClient, make_user: Any) -> None:
    alice, bob, mallory = await people(http, make_user, "alice", "bob", "mallory")
    room_id = await shared_room(http, alice, bob)
    target = await say(http, alice, room_id, "Original")
    await thread_reply(http, bob, room_id, target, "echt")
    # Mallory (who learnt the event ID) relates to it from a room of her own: she is
    # answered as for any event, and nothing of it reaches alice's room.
    own = await create_room(http, mallory)
    for content in (
        {"body": "gefälscht", **relates("m.thread", target)},
        {"body": "*", "m.new_content": {"body": "gefälscht"}, **relates("m.replace", target)},
        {"body": "ref", **relates("m.reference", target)},
    ):
        await send(http, mallory, own, "m.room.message", content)
    relations = bundle(await get_event(http, bob, room_id, target))
    assert set(relations) == {"m.thread"} and relations["m.thread"]["count"] == 1
    assert len(await relation_ids(http, bob, room_id, target)) == 1
