"""Threads, edits, reactions and references: bundled into the original wherever a
client is served events, and listed by /relations and /threads.

matrix-nio reads /event, /messages and /context; raw requests what nio has no
call for (/relations, /threads, an initial /sync, sliding sync).
"""

from __future__ import annotations

from typing import Any

import httpx
from nio import (
    AsyncClient,
    RoomContextResponse,
    RoomGetEventResponse,
    RoomMessagesResponse,
    RoomSendResponse,
)

from tests.integration.matrix import shared_room
from tests.integration.relations import (
    bundle,
    edit,
    get_event,
    react,
    redact,
    relates,
    relation_ids,
    relations_of,
    thread_reply,
    threads,
)
from tests.integration.sliding import post
from tests.integration.steps import JsonDict, Session, invite, join, log_in, say, send

V3 = "/_matrix/client/v3"


def session_of(client: AsyncClient) -> Session:
    assert client.device_id is not None
    return Session(client.user_id, client.device_id, client.access_token)


async def nio_send(client: AsyncClient, room_id: str, content: JsonDict) -> str:
    sent = await client.room_send(room_id, "m.room.message", content)
    assert isinstance(sent, RoomSendResponse), sent
    return sent.event_id


def find(events: list[Any], event_id: str) -> JsonDict:
    """The raw JSON of one event among nio's parsed ones."""
    found: JsonDict = next(e.source for e in events if e.event_id == event_id)
    return found


async def test_a_thread_and_its_summary_in_every_place_events_are_served(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient, make_user: Any
) -> None:
    room_id = await shared_room(alice, bob)
    a, b = session_of(alice), session_of(bob)
    root = await nio_send(alice, room_id, {"msgtype": "m.text", "body": "Lage am Bahnhof?"})
    await thread_reply(http, b, room_id, root, "ruhig")
    await thread_reply(http, b, room_id, root, "weiter ruhig")
    last = await nio_send(
        alice,
        room_id,
        {"msgtype": "m.text", "body": "danke", **relates("m.thread", root)},
    )

    def check(event: JsonDict, *, participated: bool) -> None:
        thread = bundle(event)["m.thread"]
        assert thread["count"] == 3
        assert thread["latest_event"]["event_id"] == last
        assert thread["latest_event"]["content"]["body"] == "danke"
        assert thread["current_user_participated"] is participated

    got = await bob.room_get_event(room_id, root)
    assert isinstance(got, RoomGetEventResponse), got
    check(got.event.source, participated=True)
    page = await bob.room_messages(room_id, limit=10)
    assert isinstance(page, RoomMessagesResponse), page
    check(find(page.chunk, root), participated=True)
    context = await alice.room_context(room_id, root, limit=2)
    assert isinstance(context, RoomContextResponse), context
    check(context.event.source, participated=True)  # alice sent the root

    # Carol joins later (shared history): she sees the thread, but took no part.
    carol = await log_in(http, make_user("carol"))
    await invite(http, a, room_id, carol.user_id)
    await join(http, carol, room_id)
    check(await get_event(http, carol, room_id, root), participated=False)
    r = await threads(http, carol, room_id)
    assert r.status_code == 200, r.text
    assert [e["event_id"] for e in r.json()["chunk"]] == [root]
    check(r.json()["chunk"][0], participated=False)
    r = await threads(http, carol, room_id, include="participated")
    assert r.json()["chunk"] == []
    r = await threads(http, b, room_id, include="participated")
    assert [e["event_id"] for e in r.json()["chunk"]] == [root]

    # Her first /sync and her first sliding sync carry the summary too.
    r = await http.get(f"{V3}/sync", headers=carol.headers)
    assert r.status_code == 200, r.text
    timeline = r.json()["rooms"]["join"][room_id]["timeline"]["events"]
    check(next(e for e in timeline if e["event_id"] == root), participated=False)
    subscription = {"timeline_limit": 20, "required_state": []}
    r = await post(http, carol, {"conn_id": "t", "room_subscriptions": {room_id: subscription}})
    assert r.status_code == 200, r.text
    timeline = r.json()["rooms"][room_id]["timeline"]
    check(next(e for e in timeline if e["event_id"] == root), participated=False)

    # A thread can't start from an event that relates to another (spec: 400 M_UNKNOWN).
    r = await http.put(
        f"{V3}/rooms/{room_id}/send/m.room.message/nested",
        headers=b.headers,
        json={"msgtype": "m.text", "body": "x", **relates("m.thread", last)},
    )
    assert (r.status_code, r.json()["errcode"]) == (400, "M_UNKNOWN")


async def test_reactions_and_edits_are_bundled_into_the_original(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    room_id = await shared_room(alice, bob)
    a, b = session_of(alice), session_of(bob)
    original = await say(http, a, room_id, "Treffpunkt 14:00")
    reaction = await react(http, b, room_id, original, "👍")
    r = await http.put(
        f"{V3}/rooms/{room_id}/send/m.reaction/again",
        headers=b.headers,
        json=relates("m.annotation", original, key="👍"),
    )
    assert (r.status_code, r.json()["errcode"]) == (400, "M_DUPLICATE_ANNOTATION")
    first = await edit(http, a, room_id, original, "Treffpunkt 15:00")
    second = await edit(http, a, room_id, original, "Treffpunkt 16:00")
    await edit(http, b, room_id, original, "Treffpunkt verlegt")  # not bob's message
    await edit(http, a, room_id, first, "edit of an edit")  # ignored, too

    event = await get_event(http, b, room_id, original)
    assert event["content"]["body"] == "Treffpunkt 14:00"  # the server doesn't apply edits
    relations = bundle(event)
    assert relations["m.replace"]["event_id"] == second
    assert relations["m.replace"]["sender"] == a.user_id
    assert relations["m.replace"]["content"]["m.new_content"]["body"] == "Treffpunkt 16:00"
    # Since v1.7 the server doesn't aggregate annotations: clients count reactions.
    assert set(relations) == {"m.replace"}
    # /messages and /context bundle the same, as nio reads them.
    page = await alice.room_messages(room_id, limit=20)
    assert isinstance(page, RoomMessagesResponse), page
    assert bundle(find(page.chunk, original))["m.replace"]["event_id"] == second
    context = await bob.room_context(room_id, original, limit=0)
    assert isinstance(context, RoomContextResponse), context
    assert bundle(context.event.source)["m.replace"]["event_id"] == second

    assert await relation_ids(http, b, room_id, original, "m.annotation") == [reaction]
    assert await relation_ids(http, b, room_id, original, "m.annotation", "m.reaction") == [
        reaction
    ]
    assert await relation_ids(http, b, room_id, original, "m.annotation", "m.room.message") == []
    # Newest first; bob's edit of alice's message is no edit.
    assert await relation_ids(http, b, room_id, original, "m.replace") == [second, first]
    assert await relation_ids(http, b, room_id, first) == []

    # A redacted edit drops out: the one before is the latest again.
    await redact(http, a, room_id, second)
    assert bundle(await get_event(http, b, room_id, original))["m.replace"]["event_id"] == first
    # A redacted reaction may be sent again.
    await redact(http, b, room_id, reaction)
    assert await relation_ids(http, b, room_id, original, "m.annotation") == []
    again = await react(http, b, room_id, original, "👍")
    assert await relation_ids(http, b, room_id, original, "m.annotation") == [again]

    reference = await send(
        http, b, room_id, "m.room.message", {"body": "s.o.", **relates("m.reference", original)}
    )
    relations = bundle(await get_event(http, a, room_id, original))
    assert relations["m.reference"] == {"chunk": [{"event_id": reference}]}
    # A redacted original keeps its references, but no edit is bundled with it.
    await redact(http, a, room_id, original)
    relations = bundle(await get_event(http, a, room_id, original))
    assert set(relations) == {"m.reference"}


async def test_relations_paginate_both_ways_and_recurse(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    room_id = await shared_room(alice, bob)
    a, b = session_of(alice), session_of(bob)
    root = await say(http, a, room_id, "Lagebild")
    replies = [await thread_reply(http, b, room_id, root, f"r{i}") for i in range(7)]
    # Reactions to two replies: grandchildren of the root.
    grandchildren = [await react(http, a, room_id, replies[i], "✅") for i in (1, 5)]

    r = await relations_of(http, a, room_id, root, limit=3)
    page = r.json()
    assert [e["event_id"] for e in page["chunk"]] == replies[::-1][:3]
    assert "recursion_depth" not in page and "prev_batch" not in page
    assert bundle(page["chunk"][0]) == {}
    assert await relation_ids(http, a, room_id, root, limit=3) == replies[::-1]
    assert await relation_ids(http, a, room_id, root, limit=2, dir="f") == replies
    # `from` a page's next_batch and `to` another bound the range: here pages 2 to 3.
    first = (await relations_of(http, a, room_id, root, limit=2)).json()
    third_from = (
        await relations_of(http, a, room_id, root, limit=2, **{"from": first["next_batch"]})
    ).json()
    r = await relations_of(
        http, a, room_id, root, **{"from": first["next_batch"], "to": third_from["next_batch"]}
    )
    assert [e["event_id"] for e in r.json()["chunk"]] == replies[::-1][2:4]
    assert r.json()["prev_batch"] == first["next_batch"]

    # recurse: children of children too, newest first, at the server's depth.
    r = await relations_of(http, a, room_id, root, recurse="true", limit=50)
    assert r.json()["recursion_depth"] == 3
    assert [e["event_id"] for e in r.json()["chunk"]] == [*grandchildren[::-1], *replies[::-1]]
    # A rel_type applies at every level: the reactions relate to replies, not the root.
    r = await relations_of(http, a, room_id, root, "m.thread", recurse="true", limit=50)
    assert [e["event_id"] for e in r.json()["chunk"]] == replies[::-1]
    r = await relations_of(http, a, room_id, root, recurse="false")
    assert r.json()["recursion_depth"] == 1
    # /messages' and /sync's tokens work as bounds too.
    r = await http.get(f"{V3}/sync", headers=b.headers, params={"timeout": 0})
    since = r.json()["next_batch"]
    assert await relation_ids(http, a, room_id, root, **{"from": since}) == replies[::-1]

    for params in ({"dir": "x"}, {"recurse": "yes"}, {"from": "nonsense"}, {"limit": "-1"}):
        r = await relations_of(http, a, room_id, root, **params)
        assert (r.status_code, r.json()["errcode"]) == (400, "M_INVALID_PARAM"), params


async def test_related_by_filters_find_thread_roots(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    room_id = await shared_room(alice, bob)
    a, b = session_of(alice), session_of(bob)
    plain = await say(http, a, room_id, "ohne Thread")
    bobs = await say(http, a, room_id, "bob antwortet")
    alices = await say(http, a, room_id, "alice antwortet")
    await thread_reply(http, b, room_id, bobs, "hier")
    await thread_reply(http, a, room_id, alices, "hier")
    await react(http, b, room_id, plain, "👀")

    async def messages(flt: str) -> list[str]:
        r = await http.get(
            f"{V3}/rooms/{room_id}/messages",
            params={"dir": "b", "filter": flt, "limit": 50},
            headers=a.headers,
        )
        assert r.status_code == 200, r.text
        return [e["event_id"] for e in r.json()["chunk"]]

    assert await messages('{"related_by_rel_types": ["m.thread"]}') == [alices, bobs]
    assert await messages(f'{{"related_by_senders": ["{b.user_id}"]}}') == [bobs, plain]
    both = f'{{"related_by_senders": ["{b.user_id}"], "related_by_rel_types": ["m.thread"]}}'
    assert await messages(both) == [bobs]
    # The same filter in /sync's timeline.
    flt = '{"room": {"timeline": {"related_by_rel_types": ["m.thread"], "limit": 10}}}'
    r = await http.get(f"{V3}/sync", params={"filter": flt}, headers=b.headers)
    timeline = r.json()["rooms"]["join"][room_id]["timeline"]["events"]
    assert [e["event_id"] for e in timeline] == [bobs, alices]
