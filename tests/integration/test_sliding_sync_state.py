"""Sliding sync: what a room's entry holds — ``required_state`` with ``*``, ``$LAZY``
and ``$ME``, room subscriptions with their own settings — and which rooms a list's
``filters`` let through."""

from __future__ import annotations

import httpx

from tests.integration.conftest import LOOSE_LIMIT, server_fixture
from tests.integration.sliding import (
    Connection,
    fresh,
    one_list,
    room_list_body,
    state_keys,
    timeline_ids,
)
from tests.integration.steps import (
    JsonDict,
    Session,
    account_data,
    create_room,
    invite,
    leave,
    people,
    say,
    set_state,
    shared_room,
)

# Encryption only where asked for: the filters tell encrypted rooms from others.
server = server_fixture(
    "sliding-state",
    ratelimit__login_per_address=LOOSE_LIMIT,
    ratelimit__registration_per_address=LOOSE_LIMIT,
    tenant_policy={"room_encryption": "optional", "plaintext_in_encrypted_rooms": "allow"},
)
Key = tuple[str, str]
MEGOLM: JsonDict = {"algorithm": "m.megolm.v1.aes-sha2"}
ENCRYPTION = {"type": "m.room.encryption", "content": MEGOLM}


async def test_required_state_wildcards_lazy_members_and_me(
    http: httpx.AsyncClient, make_user
) -> None:
    alice, bob, carol = await people(http, make_user, "alice", "bob", "carol")
    room = await shared_room(http, alice, bob, carol, name="Wache", topic="Nachtdienst")
    await say(http, alice, room, "letzte Meldung")

    async def state(required_state: list[list[str]], timeline_limit: int = 1) -> set[Key]:
        body = one_list([[0, 0]], required_state=required_state, timeline_limit=timeline_limit)
        return state_keys((await fresh(http, bob, body))["rooms"][room])

    def member(*who: Session) -> set[Key]:
        return {("m.room.member", s.user_id) for s in who}

    room_state = {
        ("m.room.create", ""),
        ("m.room.name", ""),
        ("m.room.topic", ""),
        ("m.room.power_levels", ""),
        ("m.room.join_rules", ""),
        ("m.room.history_visibility", ""),
    }
    assert room_state | member(alice, bob, carol) <= await state([["*", "*"]])
    assert await state([]) == set()
    assert await state([["m.room.member", "*"]]) == member(alice, bob, carol)
    assert await state([["m.room.name", ""]]) == {("m.room.name", "")}
    assert await state([["m.room.topic", "*"]]) == {("m.room.topic", "")}
    assert await state([["m.room.member", carol.user_id]]) == member(carol)
    assert await state([["m.room.member", "$ME"]]) == member(bob)
    # $LAZY: the senders of the timeline, nobody else; not even me unless asked.
    assert await state([["m.room.member", "$LAZY"]]) == member(alice)
    assert await state([["m.room.member", "$LAZY"]], timeline_limit=0) == set()
    assert await state([["m.room.member", "$LAZY"], ["m.room.member", "$ME"]]) == member(alice, bob)
    # A type wildcard may give more (required_state is a minimum), never less.
    assert room_state <= await state([["*", ""]])
    assert await state([["org.example.nothing", ""]]) == set()

    data = await fresh(http, bob, one_list([[0, 0]], required_state=[["m.room.topic", ""]]))
    [topic] = data["rooms"][room]["required_state"]
    assert (topic["content"], topic["sender"]) == ({"topic": "Nachtdienst"}, alice.user_id)
    # No required_state at all is none, not an error (ruma leaves an empty one out).
    bare: JsonDict = {"lists": {"l": {"ranges": [[0, 0]], "timeline_limit": 1}}}
    assert not (await fresh(http, bob, bare))["rooms"][room].get("required_state")


async def test_later_responses_send_only_the_state_that_changed(
    http: httpx.AsyncClient, make_user
) -> None:
    alice, bob = await people(http, make_user, "alice", "bob")
    room = await shared_room(http, alice, bob, name="Wache", topic="Nachtdienst")
    everything = Connection(http, bob, one_list([[0, 0]], required_state=[["*", "*"]]))
    names = Connection(http, bob, one_list([[0, 0]], required_state=[["m.room.name", ""]]))
    await everything.sync()
    await names.sync()

    topic = await set_state(http, alice, room, "m.room.topic", {"topic": "Frühdienst"})
    r = (await everything.sync())["rooms"][room]
    assert "initial" not in r
    assert [e["event_id"] for e in r["required_state"]] == [topic]
    assert not (await names.sync())["rooms"].get(room, {}).get("required_state")

    await say(http, alice, room, "nur eine Nachricht")
    assert not (await everything.sync())["rooms"].get(room, {}).get("required_state")


async def test_a_room_back_in_the_window_brings_what_it_missed(
    http: httpx.AsyncClient, make_user
) -> None:
    """A room that left the window while things happened in it comes back with them,
    not as if the client had them (reference §4.1, PREVIOUSLY)."""
    alice, bob = await people(http, make_user, "alice", "bob")
    away = await shared_room(http, alice, bob, topic="alt")
    top = await shared_room(http, alice, bob)
    body = one_list([[0, 0]], required_state=[["m.room.topic", ""]], timeline_limit=10)
    conn = Connection(http, bob, body)
    assert set((await conn.sync())["rooms"]) == {top}
    await say(http, alice, away, "nach oben")
    assert set((await conn.sync())["rooms"]) == {away}
    await say(http, alice, top, "wieder oben")
    assert set((await conn.sync())["rooms"]) == {top}
    # Out of the window, Away gets a new topic (which moves nothing) and a message.
    topic = await set_state(http, alice, away, "m.room.topic", {"topic": "verpasst"})
    assert (await conn.sync())["rooms"] == {}
    back = await say(http, alice, away, "zurück")
    r = (await conn.sync())["rooms"][away]
    assert "initial" not in r
    assert timeline_ids(r) == [topic, back]
    assert [e["content"] for e in r["required_state"]] == [{"topic": "verpasst"}]


async def test_a_room_in_two_lists_gets_the_state_of_both(
    http: httpx.AsyncClient, make_user
) -> None:
    alice, bob = await people(http, make_user, "alice", "bob")
    room = await shared_room(http, alice, bob, name="Wache", topic="Nachtdienst")
    body = one_list([[0, 0]], required_state=[["m.room.name", ""]], timeline_limit=1)
    body["lists"]["other"] = {
        "ranges": [[0, 0]],
        "timeline_limit": 3,
        "required_state": [["m.room.topic", ""]],
    }
    body["room_subscriptions"] = {
        room: {"timeline_limit": 0, "required_state": [["m.room.create", ""]]}
    }
    r = (await fresh(http, bob, body))["rooms"][room]
    assert state_keys(r) == {("m.room.name", ""), ("m.room.topic", ""), ("m.room.create", "")}
    assert len(r["timeline"]) == 3  # the larger timeline_limit


async def test_who_leaves_gets_the_leave_once_and_then_not_the_room(
    http: httpx.AsyncClient, make_user
) -> None:
    """Element X learns of a leave only from its own member event ($ME)."""
    alice, bob = await people(http, make_user, "alice", "bob")
    stays = await shared_room(http, alice, bob)
    leaves = await shared_room(http, alice, bob)
    me_only = [["m.room.member", "$ME"]]
    conn = Connection(http, bob, one_list([[0, 9]], required_state=me_only, timeline_limit=1))
    assert (await conn.sync())["lists"]["l"]["count"] == 2
    await leave(http, bob, leaves)
    r = (await conn.sync())["rooms"][leaves]
    [own] = [e for e in r["required_state"] if e["state_key"] == bob.user_id]
    assert own["content"]["membership"] == "leave"
    await say(http, alice, leaves, "nach dem Gehen")
    again = await fresh(http, bob, conn.body)
    assert set(again["rooms"]) == {stays} and again["lists"]["l"]["count"] == 1


async def test_lazy_members_come_once_with_their_first_message(
    http: httpx.AsyncClient, make_user
) -> None:
    alice, bob, carol = await people(http, make_user, "alice", "bob", "carol")
    room = await shared_room(http, alice, bob, carol)
    await say(http, alice, room, "erste")
    lazy = [["m.room.member", "$LAZY"]]
    conn = Connection(http, bob, one_list([[0, 0]], required_state=lazy, timeline_limit=1))
    r = (await conn.sync())["rooms"][room]
    assert state_keys(r) == {("m.room.member", alice.user_id)}

    # One event per response: a limited timeline would make the client drop its
    # member cache (MSC4186), and what to send again then is the server's choice.
    await say(http, carol, room, "zweite")
    r = (await conn.sync())["rooms"][room]
    # Carol is new to this connection; Alice was sent already.
    assert state_keys(r) == {("m.room.member", carol.user_id)}
    await say(http, alice, room, "dritte")
    r = (await conn.sync())["rooms"][room]
    assert not r.get("required_state")


async def test_a_room_subscription_has_its_own_timeline_and_state(
    http: httpx.AsyncClient, make_user
) -> None:
    alice, bob = await people(http, make_user, "alice", "bob")
    busy = await shared_room(http, alice, bob, name="Funk")
    sent = [await say(http, alice, busy, f"Funkspruch {i}") for i in range(8)]
    quiet = await shared_room(http, alice, bob)
    await say(http, alice, quiet, "ruhig")
    body = one_list([[0, 0]], timeline_limit=1)
    body["room_subscriptions"] = {
        busy: {"timeline_limit": 5, "required_state": [["m.room.name", ""]]}
    }
    data = await fresh(http, bob, body)
    assert set(data["rooms"]) == {quiet, busy}  # the subscribed one is outside the window
    sub = data["rooms"][busy]
    assert timeline_ids(sub) == sent[-5:] and sub["limited"] is True
    assert state_keys(sub) == {("m.room.name", "")}
    assert len(data["rooms"][quiet]["timeline"]) == 1
    assert not data["rooms"][quiet].get("required_state")


async def test_opening_a_listed_room_sends_its_timeline_at_once(
    http: httpx.AsyncClient, make_user
) -> None:
    """Element X subscribes to a room the list sent with one event (timeline 20) and
    re-sends at once (timeout 0): the room comes back with more of its timeline
    without waiting for a new event (reference §5.6, §7.4)."""
    alice, bob = await people(http, make_user, "alice", "bob")
    room = await shared_room(http, alice, bob)
    sent = [await say(http, alice, room, f"Nachricht {i}") for i in range(6)]
    conn = Connection(http, bob, room_list_body())
    assert timeline_ids((await conn.sync(timeout_ms=0))["rooms"][room]) == sent[-1:]
    conn.body = room_list_body(subscribe=(room,))
    r = (await conn.sync(timeout_ms=0))["rooms"][room]
    assert timeline_ids(r)[-6:] == sent


async def test_subscriptions_are_not_sticky(http: httpx.AsyncClient, make_user) -> None:
    """Element X drops a subscription by leaving it out of the next request."""
    alice, bob = await people(http, make_user, "alice", "bob")
    room = await shared_room(http, alice, bob)
    subscribed = {"room_subscriptions": {room: {"timeline_limit": 1, "required_state": []}}}
    conn = Connection(http, bob, {"conn_id": "subs", **subscribed})
    assert room in (await conn.sync())["rooms"]
    conn.body = {"conn_id": "subs"}
    await say(http, alice, room, "nicht mehr abonniert")
    assert (await conn.sync())["rooms"] == {}


async def test_filters_pick_the_rooms_of_a_list(http: httpx.AsyncClient, make_user) -> None:
    alice, fritz = await people(http, make_user, "alice", "fritz")
    plain = await create_room(http, fritz, name="Offen")
    encrypted = await create_room(http, fritz, initial_state=[ENCRYPTION])
    dm = await create_room(http, fritz, is_direct=True, invite=[alice.user_id])
    await account_data(http, fritz, "m.direct", {alice.user_id: [dm]})
    space = await create_room(http, fritz, name="Bereich", creation_content={"type": "m.space"})
    child = await create_room(http, fritz, name="Kind")
    await set_state(http, fritz, space, "m.space.child", {"via": ["localhost"]}, child)
    tagged = await create_room(http, fritz)
    await account_data(http, fritz, "m.tag", {"tags": {"u.work": {}}}, room_id=tagged)
    invited = await create_room(http, alice, name="Einladung")
    await invite(http, alice, invited, fritz.user_id)
    every = {plain, encrypted, dm, space, child, tagged, invited}

    async def matching(**filters: object) -> set[str]:
        data = await fresh(http, fritz, one_list([[0, 99]], filters=filters))
        assert data["lists"]["l"]["count"] == len(data["rooms"]), filters
        return set(data["rooms"])

    assert await matching() == every
    assert await matching(is_dm=True) == {dm}
    assert await matching(is_dm=False) == every - {dm}
    assert await matching(is_encrypted=True) == {encrypted}
    assert await matching(is_encrypted=False) == every - {encrypted}
    assert await matching(is_invite=True) == {invited}
    assert await matching(is_invite=False) == every - {invited}
    assert await matching(room_types=["m.space"]) == {space}
    assert await matching(room_types=[None]) == every - {space}
    assert await matching(not_room_types=["m.space"]) == every - {space}
    assert await matching(room_types=["m.space", None], not_room_types=["m.space"]) == (
        every - {space}
    )
    assert await matching(spaces=[space]) == {child}
    assert await matching(tags=["u.work"]) == {tagged}
    assert await matching(not_tags=["u.work"]) == every - {tagged}
    assert await matching(tags=["u.work"], not_tags=["u.work"]) == set()  # not_tags wins
    assert await matching(is_dm=False, is_encrypted=False, is_invite=False) == {
        plain,
        space,
        child,
        tagged,
    }


async def test_a_room_that_becomes_encrypted_enters_the_encrypted_list(
    http: httpx.AsyncClient, make_user
) -> None:
    (me,) = await people(http, make_user, "erika")
    room = await create_room(http, me, name="bald verschlüsselt")
    conn = Connection(http, me, one_list([[0, 9]], filters={"is_encrypted": True}))
    first = await conn.sync()
    assert (first["lists"]["l"]["count"], first["rooms"]) == (0, {})
    await set_state(http, me, room, "m.room.encryption", MEGOLM)
    got = await conn.sync()
    assert got["lists"]["l"]["count"] == 1
    assert got["rooms"][room]["initial"] is True
