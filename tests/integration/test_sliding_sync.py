"""Simplified sliding sync (MSC4186) as Element X uses it: the room list, messages,
counts, invites, ordering, timelines and room meta. Raw requests shaped like
matrix-rust-sdk's (tests/integration/sliding.py); the connection semantics, the
extensions, the attacks and bad bodies have modules of their own."""

from __future__ import annotations

import asyncio
import json
import secrets

import httpx

from tests.integration.sliding import (
    Connection,
    fresh,
    notifications_body,
    one_list,
    room_list_body,
    state_keys,
    timeline_ids,
    window_order,
)
from tests.integration.steps import (
    V3,
    JsonDict,
    account_data,
    create_room,
    invite,
    join,
    log_in,
    people,
    receipt,
    say,
    send,
    set_state,
    shared_room,
    typing,
)

# On both engines: a response reads many rooms at once, in statements (compound
# selects, row-value IN) each engine plans its own way.


async def test_versions_advertise_simplified_sliding_sync(http: httpx.AsyncClient) -> None:
    """Element X refuses a server without the flag ("sliding sync not supported")."""
    r = await http.get("/_matrix/client/versions")
    assert r.json()["unstable_features"].get("org.matrix.simplified_msc3575") is True


async def test_element_x_room_list_appears_and_grows(http: httpx.AsyncClient, make_user) -> None:
    """Element X asks for rooms 0-19, then grows the window by 100 up to the count,
    then long-polls with the whole list."""
    (me,) = await people(http, make_user, "lena")
    total = 130
    rooms: list[str] = []
    for batch in range(0, total, 10):
        rooms += await asyncio.gather(
            *(create_room(http, me, name=f"Raum {i}") for i in range(batch, batch + 10))
        )
    conn = Connection(http, me, room_list_body([[0, 19]]))
    seen: dict[str, JsonDict] = {}
    for end in (19, 99, total - 1):  # [[0,19]], then [[0, min(next+100, count)-1]]
        conn.with_ranges([0, end])
        data = await conn.sync(timeout_ms=0)
        assert data["lists"]["all_rooms"]["count"] == total
        assert not set(data["rooms"]) & set(seen), "a room the connection has was sent again"
        assert len(data["rooms"]) == end + 1 - len(seen)
        for room_id, room in data["rooms"].items():
            assert room["initial"] is True
            assert room["name"] == f"Raum {rooms.index(room_id)}"
            # Element X marks a room unencrypted whose first state lacks the event it
            # asked for: it would send in the clear (the server encrypts every room).
            assert {
                ("m.room.create", ""),
                ("m.room.member", me.user_id),
                ("m.room.encryption", ""),
            } <= state_keys(room)
            assert len(room["timeline"]) == 1
        if not seen:  # the first window holds the 20 most recent rooms
            lowest = min(r["bump_stamp"] for r in data["rooms"].values())
        seen |= data["rooms"]
    assert set(seen) == set(rooms)
    assert sum(room["bump_stamp"] > lowest for room in seen.values()) == 19

    task = await conn.waiting(30_000)  # fully loaded: Element X long-polls
    newest = await create_room(http, me, name="Raum neu")
    grown = await conn.woken(task)
    assert grown["lists"]["all_rooms"]["count"] == total + 1
    assert grown["rooms"][newest]["initial"] is True


async def test_a_message_arrives_in_its_room_with_counts(
    http: httpx.AsyncClient, make_user
) -> None:
    alice, bob = await people(http, make_user, "alice", "bob")
    patrol = await shared_room(http, alice, bob, name="Streife")
    await shared_room(http, alice, bob, name="Wache")
    conn = Connection(http, bob, room_list_body())
    first = await conn.sync(timeout_ms=0)
    before = first["rooms"][patrol]["bump_stamp"]

    task = await conn.waiting(30_000)
    hello = await say(http, alice, patrol, "Lage ruhig")
    got = await conn.woken(task)
    assert set(got["rooms"]) == {patrol}
    room = got["rooms"][patrol]
    assert "initial" not in room
    assert timeline_ids(room) == [hello]
    assert room["timeline"][0]["sender"] == alice.user_id
    assert room["timeline"][0]["content"]["body"] == "Lage ruhig"
    assert (room["num_live"], room["limited"]) == (1, False)
    assert (room["notification_count"], room["highlight_count"]) == (1, 0)
    assert room["bump_stamp"] > before

    mention = await say(
        http, alice, patrol, "Bob, bitte melden", **{"m.mentions": {"user_ids": [bob.user_id]}}
    )
    room = (await conn.sync(timeout_ms=10_000))["rooms"][patrol]
    assert timeline_ids(room) == [mention]
    assert (room["notification_count"], room["highlight_count"]) == (2, 1)
    # prev_batch points before what was returned, and /messages takes it.
    r = await http.get(
        f"{V3}/rooms/{patrol}/messages",
        params={"dir": "b", "from": room["prev_batch"], "limit": 5},
        headers=bob.headers,
    )
    assert r.status_code == 200, r.text
    ids = [e["event_id"] for e in r.json()["chunk"]]
    assert ids[0] == hello and mention not in ids


async def test_reading_on_another_device_clears_the_counts(
    http: httpx.AsyncClient, make_user
) -> None:
    """revier counts unread notifications (Synapse sends zeros): a phone must learn
    that the laptop read them, or its badge never goes away."""
    (alice,) = await people(http, make_user, "alice")
    bob = make_user("bob")
    bob_laptop, bob_phone = await log_in(http, bob), await log_in(http, bob)
    room = await shared_room(http, alice, bob_laptop)
    last = ""
    for i in range(3):
        last = await say(http, alice, room, f"Meldung {i}")
    conn = Connection(http, bob_phone, room_list_body())
    first = await conn.sync(timeout_ms=0)
    assert first["rooms"][room]["notification_count"] == 3
    await receipt(http, bob_laptop, room, last)
    got = await conn.sync(timeout_ms=10_000)
    assert (got["rooms"][room]["notification_count"], got["rooms"][room]["highlight_count"]) == (
        0,
        0,
    )


async def test_an_invite_shows_stripped_state_and_joining_moves_it(
    http: httpx.AsyncClient, make_user
) -> None:
    alice, bob = await people(http, make_user, "alice", "bob")
    rooms = Connection(http, bob, room_list_body())
    await rooms.sync(timeout_ms=0)
    pushes = Connection(http, bob, notifications_body())
    assert (await pushes.sync(timeout_ms=0))["lists"]["invites"]["count"] == 0
    room = await create_room(
        http, alice, name="Lagebesprechung", topic="Nur intern", preset="private_chat"
    )
    await say(http, alice, room, "vor der Einladung")

    task = await rooms.waiting(30_000)
    await invite(http, alice, room, bob.user_id)
    got = await rooms.woken(task)
    invited = got["rooms"][room]
    assert invited["initial"] is True
    stripped = {(e["type"], e["state_key"]): e for e in invited["invite_state"]}
    assert stripped[("m.room.name", "")]["content"] == {"name": "Lagebesprechung"}
    assert ("m.room.create", "") in stripped
    # Element X tells an invite from a knock by the invitee's own member event.
    own = stripped[("m.room.member", bob.user_id)]
    assert (own["content"]["membership"], own["sender"]) == ("invite", alice.user_id)
    for key in ("timeline", "required_state", "prev_batch", "num_live", "limited"):
        assert key not in invited, key
    assert isinstance(invited["bump_stamp"], int)
    assert "vor der Einladung" not in json.dumps(got)
    notes = await pushes.sync(timeout_ms=0)
    assert notes["lists"]["invites"]["count"] == 1 and "invite_state" in notes["rooms"][room]

    await join(http, bob, room)
    joined = (await rooms.sync(timeout_ms=10_000))["rooms"][room]
    assert joined["initial"] is True and "invite_state" not in joined
    assert {
        ("m.room.name", ""),
        ("m.room.topic", ""),
        ("m.room.create", ""),
        ("m.room.member", bob.user_id),
    } <= state_keys(joined)
    mine = [e for e in joined["required_state"] if e.get("state_key") == bob.user_id]
    assert mine[0]["content"]["membership"] == "join"
    assert (joined["name"], joined["joined_count"]) == ("Lagebesprechung", 2)
    assert joined["timeline"][-1]["type"] == "m.room.member"
    assert joined["timeline"][-1]["state_key"] == bob.user_id
    assert (await pushes.sync(timeout_ms=0))["lists"]["invites"]["count"] == 0


async def test_a_room_climbs_on_a_message_not_on_a_receipt_reaction_state_or_typing(
    http: httpx.AsyncClient, make_user
) -> None:
    alice, bob = await people(http, make_user, "alice", "bob")
    a, b, c = [await shared_room(http, alice, bob, name=n) for n in "ABC"]
    last = {r: await say(http, alice, r, "moin") for r in (a, b, c)}
    conn = Connection(http, bob, one_list([[0, 0]], timeline_limit=1))
    first = await conn.sync()
    assert set(first["rooms"]) == {c}

    await say(http, alice, a, "neu in A")
    got = await conn.sync()
    assert set(got["rooms"]) == {a}
    assert got["rooms"][a]["bump_stamp"] > first["rooms"][c]["bump_stamp"]
    assert await window_order(http, bob, 3) == [a, c, b]
    before = (await fresh(http, bob, one_list([[0, 2]])))["rooms"][b]["bump_stamp"]

    # Activity in B that nobody would call a new message.
    await receipt(http, bob, b, last[b])
    annotation = {"rel_type": "m.annotation", "event_id": last[b], "key": "👍"}
    await send(http, alice, b, "m.reaction", {"m.relates_to": annotation})
    await set_state(http, alice, b, "m.room.topic", {"topic": "neu"})
    await typing(http, alice, b)
    assert (await conn.sync())["rooms"] == {}  # B stays outside the window [[0, 0]]
    assert await window_order(http, bob, 3) == [a, c, b]
    assert (await fresh(http, bob, one_list([[0, 2]])))["rooms"][b]["bump_stamp"] == before

    # An encrypted message is a message.
    ciphertext = {
        "algorithm": "m.megolm.v1.aes-sha2",
        "ciphertext": "AwgAEnAC",
        "sender_key": "c2VuZGVyIGtleQ",
        "device_id": "ALICEDEV",
        "session_id": "c2Vzc2lvbg",
    }
    await send(http, alice, b, "m.room.encrypted", ciphertext)
    got = await conn.sync()
    assert set(got["rooms"]) == {b}
    assert got["rooms"][b]["bump_stamp"] > before
    assert await window_order(http, bob, 3) == [b, a, c]


async def test_ranges_are_inclusive_and_unioned(http: httpx.AsyncClient, make_user) -> None:
    (me,) = await people(http, make_user, "ranges")
    rooms = [await create_room(http, me) for _ in range(6)]
    by_index = rooms[::-1]  # the most recent first

    async def window(*ranges: list[int]) -> set[str]:
        data = await fresh(http, me, one_list(list(ranges)))
        assert data["lists"]["l"]["count"] == 6
        return set(data["rooms"])

    assert await window([0, 1], [4, 5]) == {by_index[i] for i in (0, 1, 4, 5)}
    assert await window([2, 2]) == {by_index[2]}
    assert await window([0, 0], [0, 0]) == {by_index[0]}
    assert await window([1, 3], [2, 4]) == set(by_index[1:5])
    assert await window([3, 100]) == set(by_index[3:])
    assert await window([10, 20]) == set()
    assert await window() == set()  # ranges: []
    no_ranges = await fresh(http, me, one_list())
    assert (no_ranges["lists"]["l"]["count"], no_ranges["rooms"]) == (6, {})


async def test_timeline_is_oldest_first_with_limited_num_live_and_prev_batch(
    http: httpx.AsyncClient, make_user
) -> None:
    alice, bob = await people(http, make_user, "alice", "bob")
    room = await shared_room(http, alice, bob)
    sent = [await say(http, alice, room, f"m{i}") for i in range(5)]
    conn = Connection(http, bob, one_list([[0, 0]], timeline_limit=3))
    r = (await conn.sync())["rooms"][room]
    assert timeline_ids(r) == sent[-3:]
    assert (r["initial"], r["limited"], r["num_live"]) == (True, True, 0)
    page = await http.get(
        f"{V3}/rooms/{room}/messages",
        params={"dir": "b", "from": r["prev_batch"], "limit": 2},
        headers=bob.headers,
    )
    assert [e["event_id"] for e in page.json()["chunk"]] == [sent[1], sent[0]]

    more = [await say(http, alice, room, f"n{i}") for i in range(2)]
    r = (await conn.sync())["rooms"][room]
    assert timeline_ids(r) == more
    assert (r["limited"], r["num_live"]) == (False, 2)
    assert "initial" not in r

    gap = [await say(http, alice, room, f"g{i}") for i in range(5)]
    r = (await conn.sync())["rooms"][room]
    assert timeline_ids(r) == gap[-3:]
    assert (r["limited"], r["num_live"]) == (True, 3)
    page = await http.get(
        f"{V3}/rooms/{room}/messages",
        params={"dir": "b", "from": r["prev_batch"], "limit": 2},
        headers=bob.headers,
    )
    assert [e["event_id"] for e in page.json()["chunk"]] == [gap[1], gap[0]]


async def test_name_avatar_heroes_is_dm_and_member_counts(
    http: httpx.AsyncClient, make_user
) -> None:
    alice, bob, carol = await people(http, make_user, "alice", "bob", "carol")
    named = await create_room(http, alice, name="Einsatzleitung", invite=[bob.user_id])
    await set_state(http, alice, named, "m.room.avatar", {"url": "mxc://localhost/wappen"})
    dm = await create_room(http, alice, is_direct=True, invite=[bob.user_id, carol.user_id])
    await join(http, bob, dm)
    await account_data(http, alice, "m.direct", {bob.user_id: [dm]})
    conn = Connection(http, alice, one_list([[0, 9]], timeline_limit=1))
    first = await conn.sync()

    n = first["rooms"][named]
    assert (n["name"], n["avatar"]) == ("Einsatzleitung", "mxc://localhost/wappen")
    assert not n.get("is_dm")
    assert (n["joined_count"], n["invited_count"]) == (1, 1)
    d = first["rooms"][dm]
    assert not d.get("name") and d["is_dm"] is True
    assert {h["user_id"] for h in d["heroes"]} == {bob.user_id, carol.user_id}
    assert (d["joined_count"], d["invited_count"]) == (2, 1)

    # Later responses carry what changed, not what the client has.
    await say(http, alice, named, "hallo")
    n = (await conn.sync())["rooms"][named]
    assert "name" not in n and "avatar" not in n
    await set_state(http, alice, named, "m.room.name", {"name": "Leitstelle"})
    assert (await conn.sync())["rooms"][named]["name"] == "Leitstelle"
    await join(http, bob, named)
    n = (await conn.sync())["rooms"][named]
    assert (n["joined_count"], n["invited_count"]) == (2, 0)


async def test_which_events_move_a_room_up(http: httpx.AsyncClient, make_user) -> None:
    """Only what a person would call new: the default bump types (reference §7.6)."""
    alice, bob = await people(http, make_user, "alice", "bob")
    for text in ("unten", "oben"):
        await say(http, alice, await shared_room(http, alice, bob), text)
    bumps = [
        ("m.sticker", {"body": "Daumen", "url": "mxc://localhost/sticker", "info": {}}, None),
        ("m.call.invite", {"call_id": "c1", "version": "1", "lifetime": 60000, "offer": {}}, None),
        ("m.poll.start", {"m.poll": {"question": {"m.text": "Pause?"}, "answers": []}}, None),
        ("m.beacon_info", {"live": True, "timeout": 60000}, alice.user_id),
    ]
    for event_type, content, state_key in bumps:
        bottom = (await window_order(http, bob, 2))[1]
        if state_key is None:
            await send(http, alice, bottom, event_type, content)
        else:
            await set_state(http, alice, bottom, event_type, content, state_key)
        assert (await window_order(http, bob, 2))[0] == bottom, event_type

    order = await window_order(http, bob, 2)
    stamps = (await fresh(http, bob, one_list([[0, 1]])))["rooms"]
    bottom = order[1]
    last = (await fresh(http, bob, one_list([[1, 1]], timeline_limit=1)))["rooms"][bottom]
    target = last["timeline"][0]["event_id"]
    await send(
        http,
        alice,
        bottom,
        "m.reaction",
        {"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": "👀"}},
    )
    await set_state(http, alice, bottom, "m.room.name", {"name": "umbenannt"})
    for path, content in (
        (f"rooms/{bottom}/redact/{target}/{secrets.token_hex(4)}", {"reason": "weg"}),
        (f"profile/{alice.user_id}/displayname", {"displayname": "Alice B."}),
    ):
        r = await http.put(f"{V3}/{path}", headers=alice.headers, json=content)
        assert r.status_code == 200, r.text
    assert await window_order(http, bob, 2) == order
    after = (await fresh(http, bob, one_list([[0, 1]])))["rooms"]
    assert after[bottom]["bump_stamp"] == stamps[bottom]["bump_stamp"]


async def test_an_invite_is_ordered_by_the_invite_itself(
    http: httpx.AsyncClient, make_user
) -> None:
    alice, bob = await people(http, make_user, "alice", "bob")
    joined = await shared_room(http, alice, bob)
    invited = await create_room(http, alice, name="später")
    await say(http, alice, joined, "vor der Einladung")
    await invite(http, alice, invited, bob.user_id)
    assert await window_order(http, bob, 2) == [invited, joined]
    # What happens in a room Bob is only invited to is none of his list's business.
    await say(http, alice, joined, "im gemeinsamen Raum")
    await say(http, alice, invited, "im Raum der Einladung")
    assert await window_order(http, bob, 2) == [joined, invited]
