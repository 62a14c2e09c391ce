"""Rooms with real clients: create, invite, join, talk, moderate, redact."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import httpx
from nio import (
    AsyncClient,
    ErrorResponse,
    RoomMessageText,
    RoomSendResponse,
    TypingNoticeEvent,
)

from tests.integration.matrix import auth, next_timeline_event, shared_room, sync_until

V3 = "/_matrix/client/v3"


def text(body: str) -> dict[str, str]:
    return {"msgtype": "m.text", "body": body}


async def test_messages_both_ways_in_one_long_poll(alice: AsyncClient, bob: AsyncClient) -> None:
    room_id = await shared_room(alice, bob, name="Lage")
    # Bob is already waiting in /sync when Alice sends: the send must wake him.
    waiting = asyncio.create_task(
        next_timeline_event(bob, room_id, lambda e: isinstance(e, RoomMessageText))
    )
    await asyncio.sleep(0)
    sent = await alice.room_send(room_id, "m.room.message", text("Lage 14:00"))
    assert isinstance(sent, RoomSendResponse)
    event = await asyncio.wait_for(waiting, 10)
    assert (event.sender, event.body, event.event_id) == (
        alice.user_id,
        "Lage 14:00",
        sent.event_id,
    )
    await bob.room_send(room_id, "m.room.message", text("verstanden"))
    reply = await next_timeline_event(
        alice, room_id, lambda e: isinstance(e, RoomMessageText) and e.sender == bob.user_id
    )
    assert reply.body == "verstanden"


async def test_retried_send_with_the_same_txn_id_is_one_event(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    room_id = await shared_room(alice, bob)
    url = f"{V3}/rooms/{room_id}/send/m.room.message/retry-1"
    first = await http.put(url, json=text("once"), headers=auth(alice))
    second = await http.put(url, json=text("once"), headers=auth(alice))
    assert first.status_code == second.status_code == 200
    assert first.json()["event_id"] == second.json()["event_id"]
    r = await http.get(
        f"{V3}/rooms/{room_id}/messages", params={"dir": "b", "limit": 50}, headers=auth(bob)
    )
    assert r.status_code == 200
    bodies = [e["content"].get("body") for e in r.json()["chunk"]]
    assert bodies.count("once") == 1
    sync = await http.get(f"{V3}/sync", headers=auth(bob))
    timeline = sync.json()["rooms"]["join"][room_id]["timeline"]["events"]
    assert [e["content"].get("body") for e in timeline].count("once") == 1


async def test_own_events_carry_the_transaction_id(alice: AsyncClient, bob: AsyncClient) -> None:
    room_id = await shared_room(alice, bob)
    sent = await alice.room_send(room_id, "m.room.message", text("echo"), tx_id="my-txn-7")
    assert isinstance(sent, RoomSendResponse)
    event = await next_timeline_event(alice, room_id, lambda e: e.event_id == sent.event_id)
    assert event.transaction_id == "my-txn-7"


async def test_typing_and_receipts_arrive(alice: AsyncClient, bob: AsyncClient) -> None:
    room_id = await shared_room(alice, bob)
    await alice.room_typing(room_id, True, timeout=10_000)

    def typing(response):  # type: ignore[no-untyped-def]
        room = response.rooms.join.get(room_id)
        return room and any(
            isinstance(e, TypingNoticeEvent) and alice.user_id in e.users for e in room.ephemeral
        )

    await sync_until(bob, typing)
    sent = await alice.room_send(room_id, "m.room.message", text("read me"))
    await next_timeline_event(bob, room_id, lambda e: e.event_id == sent.event_id)
    await bob.room_read_markers(room_id, sent.event_id, sent.event_id)

    def receipt(response):  # type: ignore[no-untyped-def]
        room = response.rooms.join.get(room_id)
        return room and any(
            getattr(e, "receipts", None)
            and any(r.user_id == bob.user_id and r.event_id == sent.event_id for r in e.receipts)
            for e in room.ephemeral
        )

    await sync_until(alice, receipt)


async def test_kick_and_ban_are_enforced(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    room_id = await shared_room(alice, bob)
    assert not isinstance(await alice.room_kick(room_id, bob.user_id, "out"), ErrorResponse)
    r = await bob.room_send(room_id, "m.room.message", text("still here?"))
    assert isinstance(r, ErrorResponse) and r.status_code == "M_FORBIDDEN"
    # A kicked user may not re-join an invite-only room on their own.
    r = await bob.join(room_id)
    assert isinstance(r, ErrorResponse) and r.status_code == "M_FORBIDDEN"
    await alice.room_invite(room_id, bob.user_id)
    assert not isinstance(await alice.room_ban(room_id, bob.user_id, "gone"), ErrorResponse)
    r = await bob.join(room_id)
    assert isinstance(r, ErrorResponse) and r.status_code == "M_FORBIDDEN"
    # Bob may not kick Alice: he has no power (and is no longer a member).
    r = await http.post(
        f"{V3}/rooms/{room_id}/kick", json={"user_id": alice.user_id}, headers=auth(bob)
    )
    assert r.status_code == 403
    assert not isinstance(await alice.room_unban(room_id, bob.user_id), ErrorResponse)
    await alice.room_invite(room_id, bob.user_id)
    assert not isinstance(await bob.join(room_id), ErrorResponse)


async def test_a_non_member_reads_and_sends_nothing(
    alice: AsyncClient, bob: AsyncClient, eve: AsyncClient, http: httpx.AsyncClient
) -> None:
    room_id = await shared_room(alice, bob)
    sent = await alice.room_send(room_id, "m.room.message", text("secret plan"))
    for method, path, body in [
        ("PUT", f"/rooms/{room_id}/send/m.room.message/eve1", text("hi")),
        ("PUT", f"/rooms/{room_id}/state/m.room.topic", {"topic": "mine"}),
        ("GET", f"/rooms/{room_id}/state", None),
        ("GET", f"/rooms/{room_id}/state/m.room.name", None),
        ("GET", f"/rooms/{room_id}/event/{sent.event_id}", None),
        ("POST", f"/rooms/{room_id}/invite", {"user_id": eve.user_id}),
        ("POST", f"/rooms/{room_id}/join", {}),
        ("POST", f"/rooms/{room_id}/receipt/m.read/{sent.event_id}", {}),
        ("PUT", f"/rooms/{room_id}/typing/{eve.user_id}", {"typing": True}),
    ]:
        r = await http.request(method, V3 + path, json=body, headers=auth(eve))
        assert r.status_code in (403, 404), (path, r.status_code, r.text)
        assert "secret plan" not in r.text
    sync = (await http.get(f"{V3}/sync", headers=auth(eve))).json()
    assert room_id not in str(sync)


async def test_redaction_strips_content_for_everyone(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    room_id = await shared_room(alice, bob)
    sent = await alice.room_send(room_id, "m.room.message", text("typo with a secret"))
    await next_timeline_event(bob, room_id, lambda e: e.event_id == sent.event_id)
    r = await alice.room_redact(room_id, sent.event_id, reason="oops")
    assert not isinstance(r, ErrorResponse)
    for client in (alice, bob):
        r = await http.get(f"{V3}/rooms/{room_id}/event/{sent.event_id}", headers=auth(client))
        assert r.status_code == 200
        event = r.json()
        assert event["content"] == {}
        assert event["unsigned"]["redacted_because"]["content"]["reason"] == "oops"
    # Bob can't redact Alice's message: redact needs power level 50.
    other = await alice.room_send(room_id, "m.room.message", text("keep"))
    r = await bob.room_redact(room_id, other.event_id)
    assert isinstance(r, ErrorResponse) and r.status_code == "M_FORBIDDEN"


async def test_unsupported_room_versions_get_the_spec_error(
    alice: AsyncClient, http: httpx.AsyncClient
) -> None:
    for version in ("1", "9", "99", "abc"):
        r = await http.post(f"{V3}/createRoom", json={"room_version": version}, headers=auth(alice))
        assert (r.status_code, r.json()["errcode"]) == (400, "M_UNSUPPORTED_ROOM_VERSION")
    for version in ("10", "11", "12"):
        r = await http.post(f"{V3}/createRoom", json={"room_version": version}, headers=auth(alice))
        assert r.status_code == 200, r.text
        room_id = r.json()["room_id"]
        create = await http.get(f"{V3}/rooms/{room_id}/state/m.room.create", headers=auth(alice))
        assert create.json()["room_version"] == version


async def test_identical_rooms_created_at_once_are_distinct_rooms(
    alice: AsyncClient, http: httpx.AsyncClient
) -> None:
    # In room version 12 the room ID is the create event's hash: the same user
    # creating the same room twice in one millisecond must still get two rooms.
    body = {"preset": "private_chat", "room_version": "12"}
    replies = await asyncio.gather(
        *(http.post(f"{V3}/createRoom", json=body, headers=auth(alice)) for _ in range(8))
    )
    assert [r.status_code for r in replies] == [200] * 8, [r.text for r in replies]
    assert len({r.json()["room_id"] for r in replies}) == 8


async def test_create_room_options(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    r = await http.post(
        f"{V3}/createRoom",
        headers=auth(alice),
        json={
            "preset": "public_chat",
            "name": "Dienststelle Nord",
            "topic": "Lagebild",
            "room_alias_name": f"nord-{alice.user_id[1:9]}",
            "initial_state": [
                {"type": "m.room.history_visibility", "content": {"history_visibility": "joined"}}
            ],
            "power_level_content_override": {"events_default": 10},
            "invite": [bob.user_id],
            "is_direct": True,
        },
    )
    assert r.status_code == 200, r.text
    room_id = r.json()["room_id"]
    state = {
        (e["type"], e["state_key"]): e["content"]
        for e in (await http.get(f"{V3}/rooms/{room_id}/state", headers=auth(alice))).json()
    }
    assert state[("m.room.join_rules", "")] == {"join_rule": "public"}
    assert state[("m.room.name", "")] == {"name": "Dienststelle Nord"}
    assert state[("m.room.topic", "")] == {"topic": "Lagebild"}
    assert state[("m.room.history_visibility", "")] == {"history_visibility": "joined"}
    assert state[("m.room.power_levels", "")]["events_default"] == 10
    assert state[("m.room.member", bob.user_id)]["is_direct"] is True
    assert state[("m.room.canonical_alias", "")]["alias"].startswith("#nord-")
    # The alias leads to the room.
    alias = state[("m.room.canonical_alias", "")]["alias"]
    r = await http.post(f"{V3}/join/{quote(alias)}", json={}, headers=auth(bob))
    assert r.status_code == 200 and r.json()["room_id"] == room_id


async def test_public_rooms_can_be_joined_without_invite(
    alice: AsyncClient, eve: AsyncClient, http: httpx.AsyncClient
) -> None:
    r = await http.post(f"{V3}/createRoom", json={"preset": "public_chat"}, headers=auth(alice))
    room_id = r.json()["room_id"]
    r = await http.post(f"{V3}/join/{room_id}", json={}, headers=auth(eve))
    assert r.status_code == 200, r.text
    r = await http.post(f"{V3}/createRoom", json={"preset": "private_chat"}, headers=auth(alice))
    private = r.json()["room_id"]
    r = await http.post(f"{V3}/join/{private}", json={}, headers=auth(eve))
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")


async def test_leave_and_forget(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    room_id = await shared_room(alice, bob)
    r = await http.post(f"{V3}/rooms/{room_id}/forget", json={}, headers=auth(bob))
    assert r.status_code == 403  # still joined
    await bob.room_leave(room_id)
    r = await http.get(f"{V3}/joined_rooms", headers=auth(bob))
    assert room_id not in r.json()["joined_rooms"]
    r = await http.post(f"{V3}/rooms/{room_id}/forget", json={}, headers=auth(bob))
    assert r.status_code == 200
