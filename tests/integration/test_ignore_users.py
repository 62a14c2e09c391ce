"""Ignoring users (m.ignored_user_list): their messages and invites stop reaching the
ignorer in /sync, /messages, /context and sliding sync; their state still comes."""

from __future__ import annotations

from typing import Any

import httpx
from nio import RoomMessageText

from tests.integration.conftest import nio_login
from tests.integration.harness import RevierProcess
from tests.integration.jsclient import JsClient
from tests.integration.sliding import Connection, fresh, one_list, timeline_ids
from tests.integration.steps import (
    V3,
    Session,
    account_data,
    create_room,
    invite,
    join,
    people,
    say,
    set_state,
    shared_room,
)

IGNORED = "m.ignored_user_list"


async def ignore(http: httpx.AsyncClient, s: Session, *user_ids: str) -> None:
    await account_data(http, s, IGNORED, {"ignored_users": {u: {} for u in user_ids}})


async def sync(http: httpx.AsyncClient, s: Session, since: str | None = None, **params: Any) -> Any:
    query = {"timeout": 0, **params, **({"since": since} if since else {})}
    r = await http.get(f"{V3}/sync", params=query, headers=s.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def renamed(http: httpx.AsyncClient, s: Session, room_id: str) -> str:
    """A state event of ``s``: a new display name in the room."""
    content = {"membership": "join", "displayname": "Bernd B."}
    return await set_state(http, s, room_id, "m.room.member", content, s.user_id)


def timeline(body: Any, room_id: str) -> list[Any]:
    return (
        body.get("rooms", {}).get("join", {}).get(room_id, {}).get("timeline", {}).get("events", [])
    )


def senders(events: list[Any]) -> list[str]:
    return [e["sender"] for e in events if e["type"] == "m.room.message"]


async def test_an_ignored_users_messages_vanish_but_not_their_state(
    http: httpx.AsyncClient, make_user
) -> None:
    anna, bernd, carla = await people(http, make_user, "anna", "bernd", "carla")
    room_id = await shared_room(http, anna, bernd, carla)
    early = await say(http, bernd, room_id, "vorher")
    first = await sync(http, anna)
    assert early in [e["event_id"] for e in timeline(first, room_id)]

    await ignore(http, anna, bernd.user_id)
    ignored_msg = await say(http, bernd, room_id, "ignoriert")
    topic = await renamed(http, bernd, room_id)
    heard = await say(http, carla, room_id, "gehört")
    body = await sync(http, anna, first["next_batch"])
    global_types = [e["type"] for e in body["account_data"]["events"]]
    assert IGNORED in global_types  # so the client knows to hide what it has of Bernd
    ids = [e["event_id"] for e in timeline(body, room_id)]
    assert ignored_msg not in ids
    assert topic in ids and heard in ids  # state from Bernd still comes

    # A fresh sync, /messages and /context: nothing of Bernd's messages, ever.
    again = await sync(http, anna)
    assert bernd.user_id not in senders(timeline(again, room_id))
    r = await http.get(
        f"{V3}/rooms/{room_id}/messages", params={"dir": "b", "limit": 50}, headers=anna.headers
    )
    chunk = r.json()["chunk"]
    assert bernd.user_id not in senders(chunk) and carla.user_id in senders(chunk)
    assert topic in [e["event_id"] for e in chunk]
    r = await http.get(f"{V3}/rooms/{room_id}/context/{heard}", headers=anna.headers)
    around = r.json()
    assert bernd.user_id not in senders(around["events_before"] + around["events_after"])
    r = await http.get(f"{V3}/rooms/{room_id}/context/{ignored_msg}", headers=anna.headers)
    assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND")

    # Carla, who ignores nobody, still sees everything.
    r = await http.get(
        f"{V3}/rooms/{room_id}/messages", params={"dir": "b", "limit": 50}, headers=carla.headers
    )
    assert ignored_msg in [e["event_id"] for e in r.json()["chunk"]]

    # Un-ignoring: Bernd's new messages come again; what he said meanwhile is not
    # sent in the incremental sync (the spec: a client wanting it syncs afresh).
    since = (await sync(http, anna))["next_batch"]
    await ignore(http, anna)
    back = await say(http, bernd, room_id, "wieder da")
    body = await sync(http, anna, since)
    ids = [e["event_id"] for e in timeline(body, room_id)]
    assert back in ids and ignored_msg not in ids
    r = await http.get(
        f"{V3}/rooms/{room_id}/messages", params={"dir": "b", "limit": 50}, headers=anna.headers
    )
    assert ignored_msg in [e["event_id"] for e in r.json()["chunk"]]


async def test_a_timeline_keeps_its_limit_past_an_ignored_flood(
    http: httpx.AsyncClient, make_user
) -> None:
    anna, bernd, carla = await people(http, make_user, "anna", "bernd", "carla")
    room_id = await shared_room(http, anna, bernd, carla)
    await ignore(http, anna, bernd.user_id)
    wanted = [await say(http, carla, room_id, f"wichtig {i}") for i in range(3)]
    for i in range(12):
        await say(http, bernd, room_id, f"spam {i}")
    flt = '{"room": {"timeline": {"limit": 3}}}'
    body = await sync(http, anna, filter=flt)
    assert [e["event_id"] for e in timeline(body, room_id)] == wanted
    r = await http.get(
        f"{V3}/rooms/{room_id}/messages", params={"dir": "b", "limit": 3}, headers=anna.headers
    )
    assert [e["event_id"] for e in r.json()["chunk"]] == wanted[::-1]
    data = await fresh(http, anna, one_list([[0, 9]], timeline_limit=3))
    assert timeline_ids(data["rooms"][room_id]) == wanted


async def test_invites_from_an_ignored_user_are_dropped(http: httpx.AsyncClient, make_user) -> None:
    anna, bernd = await people(http, make_user, "anna", "bernd")
    before = await create_room(http, bernd)
    first = await sync(http, anna)
    await invite(http, bernd, before, anna.user_id)
    # Ignored after the invite came: the next sync doesn't bring it (SyTest's
    # "Ignore invite in incremental sync"), nor does a fresh one.
    await ignore(http, anna, bernd.user_id)
    after = await create_room(http, bernd, invite=[anna.user_id])
    for body in (await sync(http, anna, first["next_batch"]), await sync(http, anna)):
        assert before not in body.get("rooms", {}).get("invite", {})
        assert after not in body.get("rooms", {}).get("invite", {})
    invites = one_list([[0, 9]], filters={"is_invite": True})
    assert (await fresh(http, anna, invites))["rooms"] == {}
    subscribed = await fresh(
        http, anna, {"room_subscriptions": {after: {"timeline_limit": 1, "required_state": []}}}
    )
    assert subscribed["rooms"] == {}
    # She can still take it up herself, and un-ignoring shows the invites again.
    await ignore(http, anna)
    body = await sync(http, anna)
    assert {before, after} <= set(body["rooms"]["invite"])
    await join(http, anna, after)


async def test_sliding_sync_leaves_out_an_ignored_users_messages(
    http: httpx.AsyncClient, make_user
) -> None:
    anna, bernd, carla = await people(http, make_user, "anna", "bernd", "carla")
    room_id = await shared_room(http, anna, bernd, carla)
    conn = Connection(http, anna, one_list([[0, 9]], timeline_limit=10))
    await conn.sync()
    await ignore(http, anna, bernd.user_id)
    await conn.sync()
    await say(http, bernd, room_id, "ignoriert")
    topic = await renamed(http, bernd, room_id)
    heard = await say(http, carla, room_id, "gehört")
    data = await conn.sync(timeout_ms=0)
    assert timeline_ids(data["rooms"][room_id]) == [topic, heard]


async def test_bernd_cannot_tell_or_undo_that_he_is_ignored(
    http: httpx.AsyncClient, make_user
) -> None:
    anna, bernd = await people(http, make_user, "anna", "bernd")
    room_id = await shared_room(http, anna, bernd)
    await ignore(http, anna, bernd.user_id)
    url = f"{V3}/user/{anna.user_id}/account_data/{IGNORED}"
    assert (await http.get(url, headers=bernd.headers)).status_code == 403
    r = await http.put(url, headers=bernd.headers, json={"ignored_users": {}})
    assert r.status_code == 403
    # His own view is unchanged: he sees his message and hers.
    mine = await say(http, bernd, room_id, "hallo?")
    hers = await say(http, anna, room_id, "…")
    ids = [e["event_id"] for e in timeline(await sync(http, bernd), room_id)]
    assert mine in ids and hers in ids
    # A list in a shape no client writes, or naming oneself, ignores nobody.
    for content in ({"ignored_users": ["@x:localhost"]}, {"ignored_users": {anna.user_id: {}}}):
        await account_data(http, anna, IGNORED, content)
        assert mine in [e["event_id"] for e in timeline(await sync(http, anna), room_id)]
        assert hers in [e["event_id"] for e in timeline(await sync(http, anna), room_id)]


async def test_ignoring_in_element_hides_messages_in_js_sdk_and_nio(
    server: RevierProcess, http: httpx.AsyncClient, make_user
) -> None:
    """matrix-js-sdk ignores, as Element's "Ignore" does; nio (same account) stops
    receiving the ignored user's messages too."""
    user = make_user("anna")
    (bernd,) = await people(http, make_user, "bernd")
    nio = await nio_login(server, user, "laptop")
    try:
        created = await nio.room_create(invite=[bernd.user_id])
        room_id = created.room_id  # type: ignore[union-attr]
        await join(http, bernd, room_id)
        await nio.sync(timeout=0)
        async with JsClient.start() as js:
            await js.call("login", baseUrl=server.url, userId=user.user_id, password=user.password)
            await js.call("startClient")
            await js.call("waitForSync")
            await js.call("setIgnoredUsers", userIds=[bernd.user_id])
            hidden = await say(http, bernd, room_id, "ignoriert")
            await nio.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": "ok"})
            await js.call("waitForEvent", roomId=room_id, body="ok")
            shown = (await js.call("timelineEventIds", roomId=room_id))["eventIds"]
            assert hidden not in shown
        response = await nio.sync(timeout=0, full_state=True)
        room = response.rooms.join[room_id]  # type: ignore[union-attr]
        bodies = [e.body for e in room.timeline.events if isinstance(e, RoomMessageText)]
        assert "ignoriert" not in bodies and "ok" in bodies
    finally:
        await nio.close()


async def test_an_ignored_users_message_notifies_nobody_who_ignores_him(
    http: httpx.AsyncClient, make_user
) -> None:
    anna, bernd, carla = await people(http, make_user, "anna", "bernd", "carla")
    room_id = await shared_room(http, anna, bernd, carla)

    def counts(body: Any) -> tuple[int, int]:
        room = body["rooms"]["join"][room_id]["unread_notifications"]
        return room["notification_count"], room["highlight_count"]

    # Who ignores Bernd is looked up (and kept) for his first message...
    await say(http, bernd, room_id, "vorher")
    assert counts(await sync(http, anna)) == (1, 0)
    # ...and learnt again once Anna ignores him.
    await ignore(http, anna, bernd.user_id)
    await say(http, bernd, room_id, f"{anna.user_id} hör mal")  # mentions her, too
    assert counts(await sync(http, anna)) == (1, 0)
    assert counts(await sync(http, carla)) == (2, 0)
    # Un-ignored, his next message counts again.
    await ignore(http, anna)
    await say(http, bernd, room_id, "wieder da")
    assert counts(await sync(http, anna)) == (2, 0)
