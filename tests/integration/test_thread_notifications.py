"""Threaded read receipts and per-thread unread counts (spec: "Threaded read receipts",
/sync's ``unread_thread_notifications``)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.integration.relations import thread_reply
from tests.integration.steps import JsonDict, Session, people, say, shared_room

V3 = "/_matrix/client/v3"
PER_THREAD = json.dumps({"room": {"timeline": {"unread_thread_notifications": True}}})


async def counts(
    http: httpx.AsyncClient, s: Session, room_id: str, *, per_thread: bool
) -> JsonDict:
    """The room's unread counts in a fresh /sync."""
    params = {"filter": PER_THREAD} if per_thread else {}
    r = await http.get(f"{V3}/sync", params=params, headers=s.headers)
    assert r.status_code == 200, r.text
    room = r.json()["rooms"]["join"][room_id]
    return {k: v for k, v in room.items() if k.startswith("unread_")}


def unread(n: int) -> JsonDict:
    return {"notification_count": n, "highlight_count": 0}


async def receipt(
    http: httpx.AsyncClient, s: Session, room_id: str, event_id: str, thread_id: str | None
) -> httpx.Response:
    body = {} if thread_id is None else {"thread_id": thread_id}
    return await http.post(
        f"{V3}/rooms/{room_id}/receipt/m.read/{event_id}", headers=s.headers, json=body
    )


async def test_threads_are_counted_and_read_apart(http: httpx.AsyncClient, make_user: Any) -> None:
    alice, bob = await people(http, make_user, "alice", "bob")
    room_id = await shared_room(http, alice, bob)
    root = await say(http, alice, room_id, "Übergabe?")
    first = await say(http, bob, room_id, "gleich")
    await thread_reply(http, bob, room_id, root, "Akte liegt bereit")
    in_thread = await thread_reply(http, bob, room_id, root, "Schlüssel auch")
    last = await say(http, bob, room_id, "bin da")

    # One count for the whole room, unless the client asks for threads apart.
    assert await counts(http, alice, room_id, per_thread=False) == {
        "unread_notifications": unread(4)
    }
    assert await counts(http, alice, room_id, per_thread=True) == {
        "unread_notifications": unread(2),
        "unread_thread_notifications": {root: unread(2)},
    }

    # Reading the thread clears the thread alone.
    r = await receipt(http, alice, room_id, in_thread, root)
    assert r.status_code == 200, r.text
    assert await counts(http, alice, room_id, per_thread=True) == {
        "unread_notifications": unread(2)
    }
    # Reading the main timeline up to `first` leaves `last` unread.
    assert (await receipt(http, alice, room_id, first, "main")).status_code == 200
    assert await counts(http, alice, room_id, per_thread=False) == {
        "unread_notifications": unread(1)
    }

    # A threaded receipt must name an event of that thread (the root belongs to both).
    for event_id, thread_id in ((in_thread, "main"), (last, root), (first, "")):
        r = await receipt(http, alice, room_id, event_id, thread_id)
        assert (r.status_code, r.json()["errcode"]) == (400, "M_INVALID_PARAM"), thread_id
    assert (await receipt(http, alice, room_id, root, root)).status_code == 200
    r = await http.post(
        f"{V3}/rooms/{room_id}/receipt/m.fully_read/{last}",
        headers=alice.headers,
        json={"thread_id": "main"},
    )
    assert (r.status_code, r.json()["errcode"]) == (400, "M_INVALID_PARAM")

    # An unthreaded receipt reads everything up to it, threads included.
    await thread_reply(http, bob, room_id, root, "noch was")
    newest = await say(http, bob, room_id, "Ende")
    assert (await receipt(http, alice, room_id, newest, None)).status_code == 200
    assert await counts(http, alice, room_id, per_thread=True) == {
        "unread_notifications": unread(0)
    }
