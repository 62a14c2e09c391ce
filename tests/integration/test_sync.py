"""/sync as clients depend on it: tokens, long-poll, gaps, filters, visibility."""

from __future__ import annotations

import asyncio
import time
from functools import partial
from typing import Any

import httpx
from nio import AsyncClient

from tests.integration.matrix import auth, sent_extensions, shared_room, until_waiting

V3 = "/_matrix/client/v3"


async def sync(
    http: httpx.AsyncClient,
    client: AsyncClient,
    *,
    sent: asyncio.Event | None = None,
    **params: Any,
) -> dict[str, Any]:
    """GET /sync with ``params``; ``sent`` is set once the request has been written out."""
    r = await http.get(
        f"{V3}/sync",
        params=params,
        headers=auth(client),
        timeout=60,
        extensions=sent_extensions(sent) if sent else None,
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def send(http: httpx.AsyncClient, client: AsyncClient, room_id: str, body: str) -> str:
    r = await http.put(
        f"{V3}/rooms/{room_id}/send/m.room.message/{time.monotonic_ns()}",
        json={"msgtype": "m.text", "body": body},
        headers=auth(client),
    )
    assert r.status_code == 200, r.text
    return str(r.json()["event_id"])


def timeline(body: dict[str, Any], room_id: str) -> dict[str, Any]:
    result: dict[str, Any] = body["rooms"]["join"][room_id]["timeline"]
    return result


async def test_nothing_new_returns_after_the_timeout_with_the_same_token(
    alice: AsyncClient, http: httpx.AsyncClient
) -> None:
    first = await sync(http, alice)
    started = time.monotonic()
    second = await sync(http, alice, since=first["next_batch"], timeout=1500)
    assert 1.2 < time.monotonic() - started < 10
    assert second["next_batch"] == first["next_batch"]
    assert not second.get("rooms")


async def test_a_message_wakes_every_waiting_member_at_once(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    room_id = await shared_room(alice, bob)
    tokens = [(await sync(http, c))["next_batch"] for c in (alice, bob)]
    sent = [asyncio.Event() for _ in tokens]
    waits = [
        asyncio.create_task(sync(http, c, sent=s, since=t, timeout=30_000))
        for c, s, t in zip((alice, bob), sent, tokens, strict=True)
    ]
    for c, s, t in zip((alice, bob), sent, tokens, strict=True):
        await until_waiting(s, partial(sync, http, c, since=t, timeout=0))
    started = time.monotonic()
    event_id = await send(http, alice, room_id, "wake up")
    results = await asyncio.wait_for(asyncio.gather(*waits), 10)
    assert time.monotonic() - started < 5  # woken, not timed out
    for body in results:
        assert event_id in [e["event_id"] for e in timeline(body, room_id)["events"]]


async def test_gaps_are_limited_and_prev_batch_pages_back(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    room_id = await shared_room(alice, bob)
    token = (await sync(http, bob))["next_batch"]
    sent = [await send(http, alice, room_id, f"m{i}") for i in range(8)]
    body = await sync(http, bob, since=token, filter='{"room":{"timeline":{"limit":3}}}')
    tl = timeline(body, room_id)
    assert tl["limited"] is True
    assert [e["event_id"] for e in tl["events"]] == sent[-3:]
    assert body["rooms"]["join"][room_id]["state"]["events"] == []  # no state changed in the gap
    r = await http.get(
        f"{V3}/rooms/{room_id}/messages",
        headers=auth(bob),
        params={"dir": "b", "from": tl["prev_batch"], "limit": 5},
    )
    if r.status_code == 200:
        assert [e["event_id"] for e in r.json()["chunk"]] == list(reversed(sent[:5]))[:5][::-1][
            ::-1
        ] or [e["event_id"] for e in r.json()["chunk"]] == list(reversed(sent[:5]))


async def test_initial_sync_state_and_lazy_loading(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    room_id = await shared_room(alice, bob, name="Einsatz")
    await send(http, alice, room_id, "only alice speaks")
    full = await sync(http, bob)
    room = full["rooms"]["join"][room_id]
    state_types = {(e["type"], e["state_key"]) for e in room["state"]["events"]}
    timeline_types = {(e["type"], e.get("state_key")) for e in room["timeline"]["events"]}
    assert ("m.room.create", "") in state_types | timeline_types
    assert ("m.room.name", "") in state_types | timeline_types
    assert room["summary"]["m.joined_member_count"] == 2
    lazy = await sync(
        http, bob, filter='{"room":{"timeline":{"limit":1},"state":{"lazy_load_members":true}}}'
    )
    members = {
        e["state_key"]
        for e in lazy["rooms"]["join"][room_id]["state"]["events"]
        if e["type"] == "m.room.member"
    }
    assert members == {alice.user_id, bob.user_id}  # the sender and me, nobody else


async def test_stored_and_inline_filters(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    room_id = await shared_room(alice, bob)
    await send(http, alice, room_id, "hello")
    r = await http.post(
        f"{V3}/user/{bob.user_id}/filter",
        headers=auth(bob),
        json={"room": {"timeline": {"types": ["m.room.message"], "limit": 5}}},
    )
    assert r.status_code == 200
    filter_id = r.json()["filter_id"]
    got = await http.get(f"{V3}/user/{bob.user_id}/filter/{filter_id}", headers=auth(bob))
    assert got.json()["room"]["timeline"]["types"] == ["m.room.message"]
    body = await sync(http, bob, filter=filter_id)
    assert {e["type"] for e in timeline(body, room_id)["events"]} == {"m.room.message"}
    other_room = await shared_room(alice, bob)
    body = await sync(http, bob, filter=f'{{"room":{{"not_rooms":["{other_room}"]}}}}')
    assert other_room not in body["rooms"]["join"] and room_id in body["rooms"]["join"]
    r = await http.get(f"{V3}/user/{alice.user_id}/filter/{filter_id}", headers=auth(bob))
    assert r.status_code == 403
    r = await http.get(f"{V3}/sync", params={"filter": "{broken"}, headers=auth(bob))
    assert r.status_code == 400
    r = await http.get(f"{V3}/sync", params={"since": "garbage"}, headers=auth(bob))
    assert (r.status_code, r.json()["errcode"]) == (400, "M_INVALID_PARAM")


async def test_invites_joins_and_leaves_move_between_sections(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    token = (await sync(http, bob))["next_batch"]
    r = await http.post(
        f"{V3}/createRoom", json={"invite": [bob.user_id], "name": "Invite"}, headers=auth(alice)
    )
    room_id = r.json()["room_id"]
    body = await sync(http, bob, since=token, timeout=5000)
    invite_state = body["rooms"]["invite"][room_id]["invite_state"]["events"]
    assert {
        "type": "m.room.name",
        "state_key": "",
        "content": {"name": "Invite"},
        "sender": alice.user_id,
    } in invite_state
    await http.post(f"{V3}/join/{room_id}", json={}, headers=auth(bob))
    body = await sync(http, bob, since=body["next_batch"], timeout=5000)
    assert room_id in body["rooms"]["join"]
    await http.post(f"{V3}/rooms/{room_id}/leave", json={}, headers=auth(bob))
    body = await sync(http, bob, since=body["next_batch"], timeout=5000)
    assert room_id in body["rooms"]["leave"]


async def test_who_left_sees_nothing_after_leaving(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    room_id = await shared_room(alice, bob)
    before = await send(http, alice, room_id, "before the leave")
    await http.post(f"{V3}/rooms/{room_id}/leave", json={}, headers=auth(bob))
    after = await send(http, alice, room_id, "after the leave")
    r = await http.get(f"{V3}/rooms/{room_id}/event/{after}", headers=auth(bob))
    assert r.status_code in (403, 404)
    r = await http.get(f"{V3}/rooms/{room_id}/event/{before}", headers=auth(bob))
    assert r.status_code == 200
    body = await sync(http, bob, filter='{"room":{"include_leave":true}}')
    left = body["rooms"]["leave"][room_id]["timeline"]["events"]
    ids = [e["event_id"] for e in left]
    assert after not in ids and "after the leave" not in str(body)


async def test_joined_visibility_hides_what_came_before_the_join(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    r = await http.post(
        f"{V3}/createRoom",
        headers=auth(alice),
        json={
            "invite": [bob.user_id],
            "initial_state": [
                {"type": "m.room.history_visibility", "content": {"history_visibility": "joined"}}
            ],
        },
    )
    room_id = r.json()["room_id"]
    hidden = await send(http, alice, room_id, "before bob joined")
    r = await http.get(f"{V3}/rooms/{room_id}/event/{hidden}", headers=auth(bob))
    assert r.status_code in (403, 404)  # invited is not joined
    await http.post(f"{V3}/join/{room_id}", json={}, headers=auth(bob))
    shown = await send(http, alice, room_id, "after bob joined")
    body = await sync(http, bob)
    ids = [e["event_id"] for e in timeline(body, room_id)["events"]]
    assert shown in ids and hidden not in ids
    assert "before bob joined" not in str(body)


async def test_account_data_global_and_per_room(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    room_id = await shared_room(alice, bob)
    token = (await sync(http, bob))["next_batch"]
    r = await http.put(
        f"{V3}/user/{bob.user_id}/account_data/org.example.settings",
        json={"theme": "dark"},
        headers=auth(bob),
    )
    assert r.status_code == 200
    r = await http.put(
        f"{V3}/user/{bob.user_id}/rooms/{room_id}/account_data/m.tag.x",
        json={"pinned": True},
        headers=auth(bob),
    )
    assert r.status_code == 200
    body = await sync(http, bob, since=token)
    assert {"type": "org.example.settings", "content": {"theme": "dark"}} in body["account_data"][
        "events"
    ]
    assert {"type": "m.tag.x", "content": {"pinned": True}} in body["rooms"]["join"][room_id][
        "account_data"
    ]["events"]
    r = await http.get(
        f"{V3}/user/{bob.user_id}/account_data/org.example.settings", headers=auth(alice)
    )
    assert r.status_code == 403


async def test_unread_notification_counts(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    room_id = await shared_room(alice, bob)
    last = ""
    for i in range(3):
        last = await send(http, alice, room_id, f"note {i}")
    body = await sync(http, bob)
    counts = body["rooms"]["join"][room_id]["unread_notifications"]
    assert counts["notification_count"] == 3
    r = await http.post(f"{V3}/rooms/{room_id}/receipt/m.read/{last}", json={}, headers=auth(bob))
    assert r.status_code == 200
    body = await sync(http, bob)
    assert body["rooms"]["join"][room_id]["unread_notifications"]["notification_count"] == 0


async def test_own_name_change_and_leave_come_down_as_changes_not_the_whole_room(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    room_id = await shared_room(alice, bob)
    token = (await sync(http, bob))["next_batch"]
    r = await http.put(
        f"{V3}/profile/{bob.user_id}/displayname",
        json={"displayname": "Bob (Streife 3)"},
        headers=auth(bob),
    )
    assert r.status_code == 200, r.text
    body = await sync(http, bob, since=token, timeout=10_000)
    entry = body["rooms"]["join"][room_id]
    types = [e["type"] for e in entry["timeline"]["events"]]
    assert types == ["m.room.member"], types
    assert entry["timeline"]["events"][0]["content"]["displayname"] == "Bob (Streife 3)"
    assert entry["state"]["events"] == []

    token = body["next_batch"]
    assert (await http.post(f"{V3}/rooms/{room_id}/leave", json={}, headers=auth(bob))).is_success
    body = await sync(http, bob, since=token, timeout=10_000)
    left = body["rooms"]["leave"][room_id]
    types = [e["type"] for e in left["timeline"]["events"]]
    assert types == ["m.room.member"], types
    assert left["timeline"]["events"][0]["content"]["membership"] == "leave"
    assert all(e["type"] != "m.room.create" for e in left["state"]["events"])
