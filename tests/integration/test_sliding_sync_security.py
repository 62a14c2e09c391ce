"""Sliding sync under attack: nobody sees a room they are not in — not through a
list, a subscription, a filter or an extension — nor another tenant's rooms, nor
history their membership doesn't cover; tokens stay out of URLs."""

from __future__ import annotations

import json
import secrets
import time
from urllib.parse import quote

import httpx
import pytest

from tests.integration.admin_api import new_admin
from tests.integration.conftest import Account
from tests.integration.harness import PASSWORD, RevierProcess
from tests.integration.sliding import (
    SS,
    Connection,
    error_of,
    fresh,
    one_list,
    post,
    room_list_body,
    timeline_ids,
)
from tests.integration.steps import (
    V3,
    JsonDict,
    Session,
    create_room,
    invite,
    join,
    leave,
    log_in,
    people,
    receipt,
    say,
    send,
    set_state,
    shared_room,
    typing,
)

pytestmark = pytest.mark.one_engine

EVERYTHING = [["*", "*"]]
CIPHERTEXT = {
    "algorithm": "m.megolm.v1.aes-sha2",
    "sender_key": "c2VuZGVyIGtleQ",
    "device_id": "OTTODEV",
    "session_id": "c2Vzc2lvbg",
}


def prying_body(*room_ids: str, space: str) -> JsonDict:
    """Every way to ask for rooms at once: a list of all, a list by space, subscriptions,
    and extensions naming the rooms."""
    return {
        "conn_id": "pry",
        "lists": {
            "all": {"ranges": [[0, 999]], "timeline_limit": 50, "required_state": EVERYTHING},
            "in_space": {
                "ranges": [[0, 999]],
                "timeline_limit": 50,
                "required_state": EVERYTHING,
                "filters": {"spaces": [space]},
            },
        },
        "room_subscriptions": {
            r: {"timeline_limit": 50, "required_state": EVERYTHING} for r in room_ids
        },
        "extensions": {
            name: {"enabled": True, "lists": ["*"], "rooms": ["*", *room_ids]}
            for name in ("receipts", "typing", "account_data")
        },
    }


async def test_a_non_member_sees_nothing_of_a_room_by_any_way_of_asking(
    http: httpx.AsyncClient, make_user
) -> None:
    alice, eve = await people(http, make_user, "alice", "eve")
    secret = await create_room(http, alice, name="Geheim", topic="Razzia morgen")
    message = await say(http, alice, secret, "Zugriff um 5 Uhr")
    space = await create_room(http, alice, name="Dezernat", creation_content={"type": "m.space"})
    await set_state(http, alice, space, "m.space.child", {"via": ["localhost"]}, secret)
    await receipt(http, alice, secret, message)
    await typing(http, alice, secret)
    own = await create_room(http, eve, name="Eves Raum")
    body = prying_body(secret, space, "!nosuchroom:localhost", space=space)

    conn = Connection(http, eve, body)
    data = await conn.sync()
    assert set(data["rooms"]) == {own}
    assert (data["lists"]["all"]["count"], data["lists"]["in_space"]["count"]) == (1, 0)
    await say(http, alice, secret, "zweite geheime Nachricht")
    await set_state(http, alice, secret, "m.room.name", {"name": "Noch geheimer"})
    later = await conn.sync()
    for answer in (data, later):
        text = json.dumps(answer)
        for leak in (secret, space, message, "Geheim", "Razzia", "Zugriff", "Dezernat"):
            assert leak not in text, leak


async def test_a_public_world_readable_room_is_not_peeked(
    http: httpx.AsyncClient, make_user
) -> None:
    """Sliding sync serves rooms one is (or was) in; peeking is not part of it."""
    alice, eve = await people(http, make_user, "alice", "eve")
    readable = {
        "type": "m.room.history_visibility",
        "content": {"history_visibility": "world_readable"},
    }
    room = await create_room(http, alice, preset="public_chat", initial_state=[readable])
    await say(http, alice, room, "für alle lesbar, aber nicht per Sync")
    data = await fresh(http, eve, prying_body(room, space=room))
    assert room not in json.dumps(data)


async def test_a_space_member_sees_no_child_room_they_are_not_in(
    http: httpx.AsyncClient, make_user
) -> None:
    alice, eve = await people(http, make_user, "alice", "eve")
    secret = await create_room(http, alice, name="Geheim", topic="Razzia morgen")
    await say(http, alice, secret, "Zugriff um 5 Uhr")
    space = await create_room(
        http, alice, name="Dezernat", preset="public_chat", creation_content={"type": "m.space"}
    )
    await set_state(http, alice, space, "m.space.child", {"via": ["localhost"]}, secret)
    await join(http, eve, space)
    data = await fresh(http, eve, prying_body(secret, space=space))
    assert set(data["rooms"]) == {space}  # the space is hers; its child isn't
    assert data["lists"]["in_space"]["count"] == 0
    assert secret not in data["rooms"]
    text = json.dumps(data)
    assert "Geheim" not in text and "Razzia" not in text and "Zugriff" not in text


async def test_an_invitee_sees_the_invite_and_nothing_of_the_history(
    http: httpx.AsyncClient, make_user
) -> None:
    """Even with shared history: what was said before is for members (reference §7.1)."""
    alice, bob = await people(http, make_user, "alice", "bob")
    room = await create_room(http, alice, name="Lage", preset="private_chat")
    await say(http, alice, room, "nur für Mitglieder")
    await set_state(http, alice, room, "m.room.topic", {"topic": "vertraulich"})
    await invite(http, alice, room, bob.user_id)
    data = await fresh(http, bob, prying_body(room, space=room))
    entry = data["rooms"][room]
    assert "invite_state" in entry
    for key in ("timeline", "required_state", "prev_batch", "num_live"):
        assert key not in entry, key
    assert "nur für Mitglieder" not in json.dumps(data)


@pytest.mark.parametrize("how", ["leave", "ban"])
async def test_who_is_out_sees_nothing_after_their_membership_ended(
    http: httpx.AsyncClient, make_user, how: str
) -> None:
    alice, bob = await people(http, make_user, "alice", "bob")
    room = await shared_room(http, alice, bob, name="Team")
    before = await say(http, alice, room, "vor dem Ende")
    if how == "leave":
        await leave(http, bob, room)
    else:
        r = await http.post(
            f"{V3}/rooms/{room}/ban", headers=alice.headers, json={"user_id": bob.user_id}
        )
        assert r.status_code == 200, r.text
    after = await say(http, alice, room, "nach dem Ende")
    await set_state(http, alice, room, "m.room.topic", {"topic": "nur noch für Alice"})
    body = one_list([[0, 99]], required_state=EVERYTHING, timeline_limit=50)
    body["room_subscriptions"] = {room: {"timeline_limit": 50, "required_state": EVERYTHING}}
    data = await fresh(http, bob, body)
    text = json.dumps(data)
    assert after not in text and "nach dem Ende" not in text and "nur noch" not in text
    if room in data["rooms"]:  # what there is ends at Bob's own membership event
        ids = timeline_ids(data["rooms"][room])
        assert not ids or data["rooms"][room]["timeline"][-1].get("state_key") == bob.user_id
        assert before in ids or not ids


async def test_another_tenants_rooms_never_appear(
    org_server: RevierProcess, password_hash: str
) -> None:
    anna_name, otto_name = f"anna-{secrets.token_hex(3)}", f"otto-{secrets.token_hex(3)}"
    [anna_id] = org_server.import_users([anna_name], password_hash)
    org_server.create_user(otto_name, PASSWORD, "--tenant", "other.test")
    async with httpx.AsyncClient(base_url=org_server.url, timeout=30) as http:
        anna = await log_in(http, Account(anna_id, anna_name, PASSWORD), Host="localhost")
        otto_id = f"@{otto_name}:other.test"
        otto = await log_in(http, Account(otto_id, otto_name, PASSWORD), Host="other.test")
        theirs = await create_room(http, otto, name="Fremde Behörde")
        # Their tenant refuses plaintext in its (encrypted) rooms.
        await send(http, otto, theirs, "m.room.encrypted", {**CIPHERTEXT, "ciphertext": "fremde"})
        otto_conn = Connection(http, otto, room_list_body())
        await otto_conn.sync(timeout_ms=0)
        mine = await create_room(http, anna, name="Eigene Behörde")

        data = await fresh(http, anna, prying_body(theirs, space=theirs))
        assert set(data["rooms"]) == {mine}
        text = json.dumps(data)
        assert theirs not in text and "Fremde" not in text and "fremde" not in text
        r = await post(http, anna, room_list_body(), pos=otto_conn.pos, timeout_ms=0)
        assert error_of(r) == (400, "M_UNKNOWN_POS")


async def test_a_token_in_the_url_is_refused(http: httpx.AsyncClient, make_user) -> None:
    (me,) = await people(http, make_user, "url")
    r = await http.post(SS, params={"access_token": me.token}, json={})
    assert error_of(r) == (401, "M_MISSING_TOKEN")
    r = await http.post(SS, params={"access_token": me.token}, json={}, headers=me.headers)
    assert r.status_code == 401  # a URL token is a leak, even beside a header
    assert error_of(await http.post(SS, json={})) == (401, "M_MISSING_TOKEN")
    bad = Session(me.user_id, me.device_id, "not-a-token")
    assert error_of(await post(http, bad, {})) == (401, "M_UNKNOWN_TOKEN")


async def test_joined_history_visibility_hides_what_came_before_the_join(
    http: httpx.AsyncClient, make_user
) -> None:
    alice, bob = await people(http, make_user, "alice", "bob")
    visibility = {"type": "m.room.history_visibility", "content": {"history_visibility": "joined"}}
    room = await create_room(http, alice, invite=[bob.user_id], initial_state=[visibility])
    # Bob's phone is connected while he is invited, and while he joins.
    conn = Connection(http, bob, one_list([[0, 9]], required_state=EVERYTHING, timeline_limit=20))
    await conn.sync()
    hidden = await say(http, alice, room, "vor Bobs Beitritt")
    await join(http, bob, room)
    shown = await say(http, alice, room, "nach Bobs Beitritt")
    answers = [await conn.sync(), await fresh(http, bob, conn.body)]
    sub = one_list(conn_id="sub")
    sub["room_subscriptions"] = {room: {"timeline_limit": 50, "required_state": EVERYTHING}}
    answers.append(await fresh(http, bob, sub))
    for data in answers:
        ids = timeline_ids(data["rooms"][room])
        assert shown in ids and hidden not in ids
        assert "vor Bobs Beitritt" not in json.dumps(data)
        page = await http.get(
            f"{V3}/rooms/{room}/messages",
            params={"dir": "b", "from": data["rooms"][room]["prev_batch"], "limit": 50},
            headers=bob.headers,
        )
        assert hidden not in [e["event_id"] for e in page.json().get("chunk", [])]


async def test_a_closed_room_ends_with_each_members_leave(
    server: RevierProcess, http: httpx.AsyncClient, make_user
) -> None:
    """Element X learns that it left a room only from its own member event ($ME)."""
    admin = new_admin(server)
    alice, bob = await people(http, make_user, "alice", "bob")
    room = await shared_room(http, alice, bob, name="Einsatz 7")
    conn = Connection(http, bob, room_list_body())
    await conn.sync(timeout_ms=0)
    r = await http.post(
        f"/_revier/admin/v1/rooms/{quote(room)}/close",
        json={"reason": "Einsatz beendet"},
        headers=admin.headers,
    )
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 15
    membership = "join"
    while membership != "leave":
        assert time.monotonic() < deadline, "no leave came down the connection"
        entry = (await conn.sync(timeout_ms=5000))["rooms"].get(room, {})
        for event in entry.get("required_state", []) + entry.get("timeline", []):
            if (event["type"], event.get("state_key")) == ("m.room.member", bob.user_id):
                membership = event["content"]["membership"]
