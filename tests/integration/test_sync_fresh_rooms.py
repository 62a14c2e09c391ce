"""A first /sync reads its rooms together: the same answer as read room by room.

The server reads the rooms a sync sends afresh together (a few statements for
all of them) unless the filter picks timeline events by type, sender or
relation; then it reads room by room. A filter that picks nothing away
(``not_types`` of a type no event has) takes the room-by-room path, so the two
answers of one server, for one user, must be equal: a comparison with no
expected value written by hand to drift from the server's.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

import httpx

from tests.integration.steps import (
    V3,
    both_ways,
    create_room,
    invite,
    join,
    leave,
    people,
    say,
    set_state,
)


async def test_rooms_read_together_answer_as_room_by_room(
    http: httpx.AsyncClient, make_user: Any
) -> None:
    anna, ben, cem = await people(http, make_user, "anna", "ben", "cem")
    # More rooms than one statement reads (50), most quiet for a while: their
    # timelines hold no state, so their state is the current state.
    quiet = await asyncio.gather(*(create_room(http, anna, name=f"Revier {i}") for i in range(56)))
    for k, room_id in enumerate(quiet):
        for j in range(3 + k % 9):
            await say(http, anna, room_id, f"Lage {k}/{j}")
    # State in the newest events: a join, a rename, a leave — the state at the
    # timeline's start is not the current state there.
    busy = await create_room(http, anna, preset="public_chat", name="Wache")
    await join(http, ben, busy)
    for j in range(10):  # ben's join falls before the timeline's start
        await say(http, ben, busy, f"Bin da {j}")
    await set_state(http, anna, busy, "m.room.name", {"name": "Wache Nord"})
    await join(http, cem, busy)
    await leave(http, cem, busy)
    # A room whose history anna may not see before she joined; its older state
    # reaches her timeline only as far as it is the current state.
    hidden = await create_room(http, ben, preset="private_chat", name="Verdeckt")
    await set_state(
        http, ben, hidden, "m.room.history_visibility", {"history_visibility": "joined"}
    )
    for j in range(12):
        await say(http, ben, hidden, f"Vorher {j}")
    await set_state(http, ben, hidden, "m.room.topic", {"topic": "Einsatz"})
    await invite(http, ben, hidden, anna.user_id)
    await join(http, anna, hidden)
    # Threads, a mention, an edit and a redaction: counts, bundles, redacted_because.
    root = await say(http, ben, busy, "Einsatzbesprechung")
    await say(
        http,
        ben,
        busy,
        "Antwort im Thread",
        **{"m.relates_to": {"rel_type": "m.thread", "event_id": root}},
    )
    await say(
        http,
        ben,
        busy,
        f"{anna.user_id} bitte melden",
        **{"m.mentions": {"user_ids": [anna.user_id]}},
    )
    redacted = await say(http, ben, busy, "versehentlich")
    r = await http.put(
        f"{V3}/rooms/{quote(busy)}/redact/{quote(redacted)}/r1", json={}, headers=ben.headers
    )
    assert r.status_code == 200, r.text
    # Heroes of more than one member, in a room without a name.
    unnamed = await create_room(http, anna, preset="public_chat")
    for who in (cem, ben):
        await join(http, who, unnamed)
    await say(http, anna, unnamed, "ohne Namen")

    filters: list[dict[str, Any]] = [
        {},
        {"timeline": {"limit": 5}},
        {"timeline": {"limit": 0}},
        {"timeline": {"limit": 20, "unread_thread_notifications": True}},
        {"state": {"lazy_load_members": True}, "timeline": {"limit": 3}},
        {"state": {"types": ["m.room.name", "m.room.member"]}},
    ]
    for room in filters:
        together, apart = await both_ways(http, anna, room)
        if together != apart:  # the rooms that differ, to read
            differ = {
                r: (together["join"].get(r), apart["join"].get(r))
                for r in set(together["join"]) | set(apart["join"])
                if together["join"].get(r) != apart["join"].get(r)
            }
            raise AssertionError(json.dumps({"filter": room, "differ": differ}, indent=1))
    # What the comparison covers is really there.
    together, _ = await both_ways(http, anna, {"timeline": {"unread_thread_notifications": True}})
    joined = together["join"]
    assert set(quiet) | {busy, hidden, unnamed} <= set(joined)
    busy_room = joined[busy]
    assert busy_room["unread_notifications"]["highlight_count"] >= 1
    assert busy_room["unread_thread_notifications"]  # the reply in the thread
    state_keys = {(e["type"], e["state_key"]) for e in busy_room["state"]["events"]}
    assert ("m.room.member", ben.user_id) in state_keys  # joined before the timeline's start
    names = [e for e in busy_room["state"]["events"] if e["type"] == "m.room.name"]
    assert names and names[0]["content"]["name"] == "Wache"  # renamed inside the timeline
    heroes = joined[unnamed]["summary"]["m.heroes"]
    assert heroes == sorted([ben.user_id, cem.user_id])
    hidden_timeline = joined[hidden]["timeline"]["events"]
    assert not any(
        e.get("content", {}).get("body", "").startswith("Vorher") for e in hidden_timeline
    )


async def test_ignored_senders_are_left_out_read_together_as_room_by_room(
    http: httpx.AsyncClient, make_user: Any
) -> None:
    anna, ben = await people(http, make_user, "anna", "ben")
    rooms = await asyncio.gather(*(create_room(http, anna, preset="public_chat") for _ in range(3)))
    for room_id in rooms:
        await join(http, ben, room_id)
        await say(http, ben, room_id, "störend")
        await say(http, anna, room_id, "sachlich")
    r = await http.put(
        f"{V3}/user/{quote(anna.user_id)}/account_data/m.ignored_user_list",
        json={"ignored_users": {ben.user_id: {}}},
        headers=anna.headers,
    )
    assert r.status_code == 200, r.text
    together, apart = await both_ways(http, anna, {})
    assert together == apart
    for room_id in rooms:
        bodies = [e["content"].get("body") for e in together["join"][room_id]["timeline"]["events"]]
        assert "sachlich" in bodies and "störend" not in bodies
