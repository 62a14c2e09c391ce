"""Notifications per event: a message writes one row for the members it notifies
the common way, and every member's count stays exact.

The members a message treats otherwise — named in it, with the room muted,
ignoring its sender, the sender — have rows of their own; who joined after it,
who left and came back, who read it (in its thread or everywhere) don't count
it. Each count is checked against what the member must see, through /sync,
/notifications and the database itself.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from tests.integration.harness import RevierProcess
from tests.integration.steps import (
    V3,
    Session,
    create_room,
    join,
    leave,
    people,
    receipt,
    say,
)


async def counts(http: httpx.AsyncClient, s: Session, room_id: str) -> tuple[int, int]:
    """(notification_count, highlight_count) of the room in a first sync."""
    r = await http.get(f"{V3}/sync", headers=s.headers)
    assert r.status_code == 200, r.text
    unread = r.json()["rooms"]["join"][room_id]["unread_notifications"]
    return unread["notification_count"], unread["highlight_count"]


async def notified(http: httpx.AsyncClient, s: Session) -> list[str]:
    r = await http.get(f"{V3}/notifications", headers=s.headers)
    assert r.status_code == 200, r.text
    return [n["event"]["event_id"] for n in r.json()["notifications"]]


def rows(server: RevierProcess, table: str, room_id: str) -> int:
    found = server.query(f"SELECT count(*) FROM {table} WHERE room_id = '{room_id}'")
    return int(found[0][0])


async def test_one_row_per_message_and_exact_counts(
    server: RevierProcess, http: httpx.AsyncClient, make_user: Any
) -> None:
    anna, ben, cem, dora, eve, fay = await people(
        http, make_user, "anna", "ben", "cem", "dora", "eve", "fay"
    )
    room_id = await create_room(http, anna, preset="public_chat", name="Lage")
    for who in (ben, cem, dora, eve):
        await join(http, who, room_id)
    # dora mutes the room; cem ignores anna.
    r = await http.put(
        f"{V3}/pushrules/global/room/{quote(room_id)}", json={"actions": []}, headers=dora.headers
    )
    assert r.status_code == 200, r.text
    r = await http.put(
        f"{V3}/user/{quote(cem.user_id)}/account_data/m.ignored_user_list",
        json={"ignored_users": {anna.user_id: {}}},
        headers=cem.headers,
    )
    assert r.status_code == 200, r.text
    shared_before = rows(server, "event_notifications", room_id)
    own_before = rows(server, "event_push_actions", room_id)

    first = await say(http, anna, room_id, "Lage 1")
    second = await say(
        http, anna, room_id, "Eve, bitte", **{"m.mentions": {"user_ids": [eve.user_id]}}
    )
    third = await say(http, anna, room_id, "Lage 3")

    # One shared row per message; own rows only for cem and dora (left out) and
    # the highlight for eve — none for ben, whatever the room's size.
    assert rows(server, "event_notifications", room_id) - shared_before == 3
    assert rows(server, "event_push_actions", room_id) - own_before == 3 * 2 + 1
    assert await counts(http, ben, room_id) == (3, 0)
    assert await counts(http, eve, room_id) == (3, 1)
    assert await counts(http, cem, room_id) == (0, 0)
    assert await counts(http, dora, room_id) == (0, 0)
    assert await counts(http, anna, room_id) == (0, 0)  # her own messages
    assert await notified(http, ben) == [third, second, first]
    assert await notified(http, dora) == []
    r = await http.get(f"{V3}/notifications", params={"only": "highlight"}, headers=eve.headers)
    assert [n["event"]["event_id"] for n in r.json()["notifications"]] == [second]

    # Reading up to the second message leaves the third.
    await receipt(http, ben, room_id, second)
    assert await counts(http, ben, room_id) == (1, 0)
    assert await notified(http, ben) == [third]
    # Who joins later doesn't count what came before; who leaves and comes back,
    # only what came after.
    await join(http, fay, room_id)
    await leave(http, eve, room_id)
    fourth = await say(http, anna, room_id, "Lage 4")
    assert await notified(http, eve) == []  # gone: she was notified while a member
    await join(http, eve, room_id)
    fifth = await say(http, anna, room_id, "Lage 5")
    assert await counts(http, fay, room_id) == (2, 0)
    assert await counts(http, eve, room_id) == (1, 0)
    assert await notified(http, eve) == [fifth]
    assert await notified(http, fay) == [fifth, fourth]
    assert await counts(http, ben, room_id) == (3, 0)


async def test_thread_receipts_read_shared_rows_thread_by_thread(
    http: httpx.AsyncClient, make_user: Any
) -> None:
    anna, ben, cem = await people(http, make_user, "anna", "ben", "cem")
    room_id = await create_room(http, anna, preset="public_chat")
    for who in (ben, cem):
        await join(http, who, room_id)
    root = await say(http, anna, room_id, "Einsatz")
    in_thread = {"m.relates_to": {"rel_type": "m.thread", "event_id": root}}
    replies = [await say(http, anna, room_id, f"Antwort {k}", **in_thread) for k in range(3)]
    await say(http, anna, room_id, "Hauptzeitleiste")

    async def by_thread(s: Session) -> dict[str, Any]:
        flt = '{"room": {"timeline": {"unread_thread_notifications": true}}}'
        r = await http.get(f"{V3}/sync", params={"filter": flt}, headers=s.headers)
        room = r.json()["rooms"]["join"][room_id]
        threads = room.get("unread_thread_notifications", {})
        main = room["unread_notifications"]["notification_count"]
        return {"main": main, **{t: c["notification_count"] for t, c in threads.items()}}

    assert await by_thread(ben) == {"main": 2, root: 3}
    # Read in the thread up to its second reply: the main timeline untouched.
    r = await http.post(
        f"{V3}/rooms/{quote(room_id)}/receipt/m.read/{quote(replies[1])}",
        json={"thread_id": root},
        headers=ben.headers,
    )
    assert r.status_code == 200, r.text
    assert await by_thread(ben) == {"main": 2, root: 1}
    # The main timeline read to its end: the thread keeps its last reply.
    page = await http.get(
        f"{V3}/rooms/{quote(room_id)}/messages",
        params={"dir": "b", "limit": 1},
        headers=ben.headers,
    )
    last = page.json()["chunk"][0]["event_id"]
    r = await http.post(
        f"{V3}/rooms/{quote(room_id)}/receipt/m.read/{quote(last)}",
        json={"thread_id": "main"},
        headers=ben.headers,
    )
    assert r.status_code == 200, r.text
    assert await by_thread(ben) == {"main": 0, root: 1}
    # cem reads everywhere at once (unthreaded): nothing is left.
    await receipt(http, cem, room_id, last)
    assert await by_thread(cem) == {"main": 0}
