"""Reading rooms with matrix-nio: /messages, /context, /members, /joined_members."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from nio import (
    AsyncClient,
    JoinedMembersResponse,
    MessageDirection,
    RoomContextResponse,
    RoomMessagesResponse,
    RoomSendResponse,
)

from tests.integration.matrix import auth, shared_room, sync_until

V3 = "/_matrix/client/v3"


async def send_texts(client: AsyncClient, room_id: str, bodies: list[str]) -> list[str]:
    ids = []
    for body in bodies:
        sent = await client.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": body}
        )
        assert isinstance(sent, RoomSendResponse), sent
        ids.append(sent.event_id)
    return ids


def bodies(events: list[Any]) -> list[str]:
    return [e.body for e in events if hasattr(e, "body")]


async def test_paginating_back_from_prev_batch_yields_all_history_in_order(
    alice: AsyncClient, bob: AsyncClient
) -> None:
    room_id = await shared_room(alice, bob)
    sent = [f"m{i}" for i in range(15)]
    await send_texts(alice, room_id, sent)
    limited = {"room": {"timeline": {"limit": 4}}}
    synced = await bob.sync(timeout=0, sync_filter=limited)
    timeline = synced.rooms.join[room_id].timeline
    assert bodies(timeline.events) == sent[-4:] and timeline.limited
    seen: list[str] = []
    token: str | None = timeline.prev_batch
    while token is not None:
        page = await bob.room_messages(room_id, start=token, limit=5)
        assert isinstance(page, RoomMessagesResponse), page
        assert page.start == token
        assert len(page.chunk) <= 5
        seen = list(reversed(bodies(page.chunk))) + seen  # dir=b: newest first
        token = page.end
    assert seen == sent[:-4]
    # Forward from the very beginning (no `from`): oldest first, the create event leading.
    forward = await bob.room_messages(
        room_id, start=None, direction=MessageDirection.front, limit=1000
    )
    assert isinstance(forward, RoomMessagesResponse), forward
    assert forward.chunk[0].source["type"] == "m.room.create"
    assert bodies(forward.chunk) == sent
    assert forward.end is None  # nothing further


async def test_messages_filter_and_lazy_loaded_members(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    room_id = await shared_room(alice, bob)
    await send_texts(alice, room_id, ["from alice"])
    await send_texts(bob, room_id, ["from bob"])
    flt = {"types": ["m.room.message"], "lazy_load_members": True}
    page = await alice.room_messages(room_id, limit=10, message_filter=flt)
    assert isinstance(page, RoomMessagesResponse), page
    assert [e.source["type"] for e in page.chunk] == ["m.room.message", "m.room.message"]
    r = await http.get(
        f"{V3}/rooms/{room_id}/messages",
        params={"dir": "b", "filter": '{"lazy_load_members": true, "types": ["m.room.message"]}'},
        headers=auth(alice),
    )
    assert r.status_code == 200, r.text
    members = {e["state_key"] for e in r.json()["state"] if e["type"] == "m.room.member"}
    assert members == {alice.user_id, bob.user_id}
    # Malformed parameters are the client's error, never the server's.
    for params in ({}, {"dir": "x"}, {"dir": "b", "from": "nonsense"}, {"dir": "b", "filter": "{"}):
        r = await http.get(f"{V3}/rooms/{room_id}/messages", params=params, headers=auth(alice))
        assert r.status_code == 400, (params, r.text)


async def test_a_user_who_left_reads_only_up_to_their_leave(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    room_id = await shared_room(alice, bob)
    await send_texts(alice, room_id, ["before"])
    assert (await bob.room_leave(room_id)).__class__.__name__ == "RoomLeaveResponse"
    after_ids = await send_texts(alice, room_id, ["after"])
    page = await bob.room_messages(room_id, limit=50)
    assert isinstance(page, RoomMessagesResponse), page
    assert "before" in bodies(page.chunk) and "after" not in bodies(page.chunk)
    assert page.chunk[0].source["type"] == "m.room.member"  # the leave is the newest
    r = await http.get(f"{V3}/rooms/{room_id}/context/{after_ids[0]}", headers=auth(bob))
    assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND")
    # /members as of the leave; /joined_members only for those still in the room.
    r = await http.get(f"{V3}/rooms/{room_id}/members", headers=auth(bob))
    assert r.status_code == 200
    member = {e["state_key"]: e["content"]["membership"] for e in r.json()["chunk"]}
    assert member == {alice.user_id: "join", bob.user_id: "leave"}
    r = await http.get(f"{V3}/rooms/{room_id}/joined_members", headers=auth(bob))
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")


async def test_event_context_splits_the_limit(alice: AsyncClient, bob: AsyncClient) -> None:
    room_id = await shared_room(alice, bob)
    ids = await send_texts(alice, room_id, [f"c{i}" for i in range(7)])
    context = await bob.room_context(room_id, ids[3], limit=4)
    assert isinstance(context, RoomContextResponse), context
    assert context.event.body == "c3"
    assert bodies(context.events_before) == ["c2", "c1"]  # newest first
    assert bodies(context.events_after) == ["c4", "c5"]
    assert any(e.source["type"] == "m.room.create" for e in context.state)
    # The tokens continue exactly where the context ends.
    older = await bob.room_messages(room_id, start=context.start, limit=1)
    assert bodies(older.chunk) == ["c0"]
    newer = await bob.room_messages(
        room_id, start=context.end, direction=MessageDirection.front, limit=1
    )
    assert bodies(newer.chunk) == ["c6"]
    missing = await bob.room_context(room_id, "$nope", limit=2)
    assert not isinstance(missing, RoomContextResponse)


async def test_members_and_joined_members(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    room_id = await shared_room(alice, bob)
    joined = await alice.joined_members(room_id)
    assert isinstance(joined, JoinedMembersResponse), joined
    assert {m.user_id for m in joined.members} == {alice.user_id, bob.user_id}
    r = await http.get(
        f"{V3}/rooms/{room_id}/members", params={"membership": "join"}, headers=auth(alice)
    )
    assert {e["state_key"] for e in r.json()["chunk"]} == {alice.user_id, bob.user_id}
    r = await http.get(
        f"{V3}/rooms/{room_id}/members", params={"not_membership": "join"}, headers=auth(alice)
    )
    assert r.json()["chunk"] == []
    # `at` a token from before bob joined: only alice.
    page = await alice.room_messages(room_id, direction=MessageDirection.front, limit=2)
    r = await http.get(
        f"{V3}/rooms/{room_id}/members", params={"at": page.end}, headers=auth(alice)
    )
    assert {e["state_key"] for e in r.json()["chunk"]} == {alice.user_id}


async def test_a_non_member_reads_nothing(
    alice: AsyncClient, bob: AsyncClient, eve: AsyncClient, http: httpx.AsyncClient
) -> None:
    room_id = await shared_room(alice, bob)
    (secret,) = await send_texts(alice, room_id, ["secret plan"])
    paths = [
        f"/rooms/{room_id}/messages?dir=b",
        f"/rooms/{room_id}/messages?dir=f&from=s0_0",
        f"/rooms/{room_id}/context/{quote(secret)}",
        f"/rooms/{room_id}/members",
        f"/rooms/{room_id}/joined_members",
        f"/rooms/{room_id}/aliases",
        # An unknown room looks the same as one you're not in.
        "/rooms/!unknown:localhost/messages?dir=b",
        "/rooms/!unknown:localhost/members",
    ]
    for path in paths:
        r = await http.get(V3 + path, headers=auth(eve))
        assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN"), (path, r.text)
        assert "secret plan" not in r.text
    # An invite alone doesn't open the history either (the room is not world_readable).
    await alice.room_invite(room_id, eve.user_id)
    await sync_until(eve, lambda s: room_id in s.rooms.invite)
    r = await http.get(f"{V3}/rooms/{room_id}/messages?dir=b", headers=auth(eve))
    assert r.status_code == 403
