"""Sliding sync connections: ``pos`` per (user, device, conn_id), retries, unusable
positions (``M_UNKNOWN_POS``, after which the client starts over), a restart of the
server, expiry, and the long-poll. What is stored runs on both engines."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.admin_api import new_admin
from tests.integration.conftest import LOOSE_LIMIT, Account, running_server, server_fixture
from tests.integration.harness import PASSWORD, RevierProcess
from tests.integration.sliding import (
    Connection,
    encryption_body,
    error_of,
    notifications_body,
    one_list,
    post,
    room_list_body,
    timeline_ids,
    to_device_contents,
)
from tests.integration.steps import (
    log_in,
    people,
    say,
    send_to_device,
    shared_room,
    typing,
)

UNKNOWN_POS = (400, "M_UNKNOWN_POS")


async def test_every_unusable_pos_is_unknown_pos(http: httpx.AsyncClient, make_user) -> None:
    alice_account = make_user("alice")
    alice, alice_tablet = await log_in(http, alice_account), await log_in(http, alice_account)
    (mallory,) = await people(http, make_user, "mallory")
    conn = Connection(http, alice, room_list_body())
    await conn.sync(timeout_ms=0)
    mine = str(conn.pos)
    encryption = Connection(http, alice, encryption_body())
    await encryption.sync()
    js_sdk = Connection(http, alice, one_list([[0, 9]]))
    del js_sdk.body["conn_id"]  # matrix-js-sdk sends none: the connection ""
    await js_sdk.sync()
    theirs = Connection(http, mallory, room_list_body())
    await theirs.sync(timeout_ms=0)

    tries = {
        "malformed": (alice, "garbage"),
        "every number moved on": (alice, re.sub(r"\d+", lambda m: str(int(m[0]) + 1000), mine)),
        "made up": (alice, "999999999/s999999999_1"),
        "huge number": (alice, "9" * 40),
        "long": (alice, "x" * 5000),
        "NUL": (alice, mine + "\x00"),
        "non-ASCII": (alice, "ü🙂" * 3),
        "another user's": (alice, str(theirs.pos)),
        "another device's": (alice_tablet, mine),
        "another conn_id's": (alice, str(encryption.pos)),
        "the js-sdk connection's": (alice, str(js_sdk.pos)),
    }
    accepted = {}
    for what, (who, pos) in tries.items():
        r = await post(http, who, room_list_body(), pos=pos, timeout_ms=0)
        if (r.status_code, r.json().get("errcode")) != UNKNOWN_POS:
            accepted[what] = (pos[:40], r.status_code, r.text[:100])
    assert not accepted, "accepted: " + "; ".join(f"{k} {v}" for k, v in accepted.items())
    # Mallory presenting Alice's pos: refused, and Alice's connection goes on.
    r = await post(http, mallory, room_list_body(), pos=mine, timeout_ms=0)
    assert error_of(r) == UNKNOWN_POS
    await conn.sync(timeout_ms=0)


async def test_a_retry_gets_the_lost_answer_and_a_superseded_pos_is_unknown(
    http: httpx.AsyncClient, make_user
) -> None:
    alice, bob = await people(http, make_user, "alice", "bob")
    room = await shared_room(http, alice, bob)
    conn = Connection(http, bob, room_list_body())
    await conn.sync(timeout_ms=0)
    first = conn.pos
    one = await say(http, alice, room, "eins")
    # The answer got lost on the way: the client sends the same pos again, and again.
    answers = [await post(http, bob, conn.body, pos=first, timeout_ms=0) for _ in range(3)]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert timeline_ids(answer.json()["rooms"][room]) == [one]
    conn.take(answers[-1])

    two = await say(http, alice, room, "zwei")
    assert timeline_ids((await conn.sync(timeout_ms=0))["rooms"][room]) == [two]
    # The client used a later pos: the first one is history.
    assert error_of(await post(http, bob, conn.body, pos=first, timeout_ms=0)) == UNKNOWN_POS
    three = await say(http, alice, room, "drei")
    assert timeline_ids((await conn.sync(timeout_ms=0))["rooms"][room]) == [three]

    # Starting over: everything again, from scratch; the old connection is gone.
    old = conn.pos
    again = Connection(http, bob, room_list_body())
    data = await again.sync(timeout_ms=0)
    assert data["rooms"][room]["initial"] is True
    assert data["lists"]["all_rooms"]["count"] == 1
    assert error_of(await post(http, bob, conn.body, pos=old, timeout_ms=0)) == UNKNOWN_POS
    await again.sync(timeout_ms=0)


async def test_a_request_abandoned_for_a_new_one_spoils_nothing(
    http: httpx.AsyncClient, make_user
) -> None:
    """Element X opens a room: it cancels its waiting request and sends the same pos
    with the new subscription. The old request may still finish at the server; the
    client goes on from the new one's pos and misses nothing (reference §4.4)."""
    alice, bob = await people(http, make_user, "alice", "bob")
    room = await shared_room(http, alice, bob)
    conn = Connection(http, bob, room_list_body())
    await conn.sync(timeout_ms=0)
    abandoned = await conn.waiting(30_000)
    conn.body = room_list_body(subscribe=(room,))
    await conn.sync(timeout_ms=0)
    message = await say(http, alice, room, "während des Wechsels")
    r = await asyncio.wait_for(abandoned, 15)  # woken by the message, answered to nobody
    assert r.status_code == 200, r.text
    got = await conn.sync(timeout_ms=10_000)
    assert message in timeline_ids(got["rooms"][room])
    # Twice at once with one pos (a retry racing the original): both answered.
    both = await asyncio.gather(
        *(post(http, bob, conn.body, pos=conn.pos, timeout_ms=0) for _ in range(2))
    )
    assert [r.status_code for r in both] == [200, 200], [r.text for r in both]
    conn.take(both[1])
    later = await say(http, alice, room, "danach")
    assert later in timeline_ids((await conn.sync(timeout_ms=10_000))["rooms"][room])


async def test_element_x_keeps_three_connections_on_one_device(
    http: httpx.AsyncClient, make_user
) -> None:
    alice, bob = await people(http, make_user, "alice", "bob")
    room = await shared_room(http, alice, bob)
    room_list = Connection(http, bob, room_list_body())
    encryption = Connection(http, bob, encryption_body())
    pushes = Connection(http, bob, notifications_body(room))
    for conn in (room_list, encryption, pushes):
        await conn.sync(timeout_ms=0)
        await say(http, alice, room, "weiter")  # each pos at a position of its own
    for conn, other in ((encryption, room_list), (room_list, pushes), (pushes, encryption)):
        r = await post(http, bob, conn.body, pos=other.pos, timeout_ms=0)
        assert (r.status_code, r.json().get("errcode")) == UNKNOWN_POS, (
            conn.body["conn_id"],
            r.text,
        )

    message = await say(http, alice, room, "an alle")
    listed, pushed, encrypted = await asyncio.gather(
        room_list.sync(timeout_ms=0), pushes.sync(timeout_ms=0), encryption.sync(timeout_ms=0)
    )
    assert timeline_ids(listed["rooms"][room]) == [message]
    assert message in timeline_ids(pushed["rooms"][room])
    assert not encrypted.get("rooms")
    for conn in (room_list, encryption, pushes):
        await conn.sync(timeout_ms=0)


async def test_the_app_and_its_notification_process_share_the_encryption_connection(
    http: httpx.AsyncClient, make_user
) -> None:
    """Element X on iOS runs the encryption connection in the app and in its
    notification process, under one lock but with pos values of their own; the
    connection has no lists, and both must keep working (reference §10.3)."""
    alice, bob = await people(http, make_user, "alice", "bob")
    app = Connection(http, bob, encryption_body())
    await app.sync()
    nse = Connection(http, bob, encryption_body(), pos=app.pos)
    await send_to_device(http, alice, bob, {"n": 1})
    got = await app.sync(timeout_ms=0)
    assert to_device_contents(got) == [{"n": 1}]
    app.body = encryption_body(since=got["extensions"]["to_device"]["next_batch"])
    await send_to_device(http, alice, bob, {"n": 2})
    # The notification process wakes with its older pos and the since both share.
    nse.body = app.body
    got = await nse.sync(timeout_ms=0)
    assert to_device_contents(got) == [{"n": 2}]
    assert to_device_contents(await app.sync(timeout_ms=0)) == [{"n": 2}]


async def test_a_connection_and_its_to_device_messages_survive_a_restart(
    engine: str, request: pytest.FixtureRequest, tmp_root: Path, password_hash: str
) -> None:
    with running_server(
        engine,
        request,
        tmp_root,
        "ss-restart",
        ratelimit__login_per_address=LOOSE_LIMIT,
        tenant_policy={"plaintext_in_encrypted_rooms": "allow"},
    ) as srv:
        names = [f"{n}-{secrets.token_hex(3)}" for n in ("alice", "bob")]
        accounts = [
            Account(u, n, PASSWORD)
            for u, n in zip(srv.import_users(names, password_hash), names, strict=True)
        ]
        async with httpx.AsyncClient(base_url=srv.url, timeout=30) as http:
            alice, bob = [await log_in(http, a) for a in accounts]
            room = await shared_room(http, alice, bob)
            rooms = Connection(http, bob, room_list_body())
            await rooms.sync(timeout_ms=0)
            encryption = Connection(http, bob, encryption_body())
            await encryption.sync()
            await send_to_device(http, alice, bob, {"n": 1})
            delivered = await encryption.sync(timeout_ms=0)
            assert to_device_contents(delivered) == [{"n": 1}]
            next_batch = delivered["extensions"]["to_device"]["next_batch"]
            before = await say(http, alice, room, "vor dem Neustart")

        srv.stop()
        srv.start()
        async with httpx.AsyncClient(base_url=srv.url, timeout=30) as http:
            rooms.http = encryption.http = http
            got = await rooms.sync(timeout_ms=0)
            assert "initial" not in got["rooms"][room]
            assert timeline_ids(got["rooms"][room]) == [before]
            # Never acknowledged: still there after the restart, once more.
            again = await Connection(http, bob, encryption_body()).sync()
            assert to_device_contents(again) == [{"n": 1}]
            gone = await Connection(http, bob, encryption_body(since=next_batch)).sync()
            assert gone["extensions"]["to_device"]["events"] == []
            # The notifier is a new one; the old pos still waits on it and wakes.
            task = await rooms.waiting(30_000)
            after = await say(http, alice, room, "nach dem Neustart")
            assert timeline_ids((await rooms.woken(task))["rooms"][room]) == [after]


expiring = server_fixture(
    "ss-expiry",
    sync={"sliding_connection_expiry_seconds": 2},
    ratelimit__login_per_address=LOOSE_LIMIT,
)


async def test_an_idle_connection_expires_and_a_fresh_start_recovers(
    expiring: RevierProcess, password_hash: str
) -> None:
    name = f"idle-{secrets.token_hex(3)}"
    [user_id] = expiring.import_users([name], password_hash)
    async with httpx.AsyncClient(base_url=expiring.url, timeout=30) as http:
        me = await log_in(http, Account(user_id, name, PASSWORD))
        r = await http.post("/_matrix/client/v3/createRoom", headers=me.headers, json={})
        room = r.json()["room_id"]
        conn = Connection(http, me, room_list_body())
        await conn.sync(timeout_ms=0)
        # Used every half second for longer than the expiry (2 s): it stays. The
        # waits are deliberate: what is tested is time passing.
        for _ in range(6):
            await asyncio.sleep(0.5)
            await conn.sync(timeout_ms=0)
        await asyncio.sleep(3.5)  # idle past the expiry
        r = await post(http, me, conn.body, pos=conn.pos, timeout_ms=0)
        assert error_of(r) == UNKNOWN_POS
        data = await Connection(http, me, room_list_body()).sync(timeout_ms=0)
        assert data["rooms"][room]["initial"] is True


@pytest.mark.one_engine
async def test_without_pos_or_timeout_the_answer_is_immediate(
    http: httpx.AsyncClient, make_user
) -> None:
    (me,) = await people(http, make_user, "eilig")
    started = time.monotonic()
    conn = Connection(http, me, room_list_body())
    await conn.sync(timeout_ms=20_000)  # a first request never waits
    await conn.sync()  # no timeout: 0
    await conn.sync(timeout_ms=0)
    assert time.monotonic() - started < 5


@pytest.mark.one_engine
async def test_nothing_new_answers_at_the_timeout_with_counts_and_a_pos(
    http: httpx.AsyncClient, make_user
) -> None:
    alice, bob = await people(http, make_user, "alice", "bob")
    await shared_room(http, alice, bob)
    conn = Connection(http, bob, room_list_body())
    await conn.sync(timeout_ms=0)
    started = time.monotonic()
    data = await conn.sync(timeout_ms=1500)
    assert 1.2 < time.monotonic() - started < 10
    assert data["lists"]["all_rooms"]["count"] == 1 and data["rooms"] == {}
    await conn.sync(timeout_ms=0)  # and its pos goes on


@pytest.mark.one_engine
async def test_a_change_that_is_not_the_connections_does_not_end_the_wait(
    http: httpx.AsyncClient, make_user
) -> None:
    alice, bob, eve = await people(http, make_user, "alice", "bob", "eve")
    ours = await shared_room(http, alice, bob)
    elsewhere = await shared_room(http, eve)
    # Bob's connection lists his DMs only; the shared room is none.
    conn = Connection(http, bob, one_list([[0, 9]], timeline_limit=1, filters={"is_dm": True}))
    await conn.sync()
    task = await conn.waiting(2500)
    started = time.monotonic()
    await say(http, eve, elsewhere, "woanders")
    await say(http, alice, ours, "nicht in seiner Liste")
    await typing(http, alice, ours)
    answer = conn.take(await asyncio.wait_for(task, 15))
    assert time.monotonic() - started > 1.5, "woken by a change it doesn't list"
    assert answer["rooms"] == {} and answer["lists"]["l"]["count"] == 0


@pytest.mark.one_engine
async def test_a_wiped_device_is_signed_out_in_its_waiting_request(
    server: RevierProcess, http: httpx.AsyncClient, make_user
) -> None:
    admin = new_admin(server)
    (device,) = await people(http, make_user, "verloren")
    conn = Connection(http, device, room_list_body())
    await conn.sync(timeout_ms=0)
    task = await conn.waiting(30_000)
    started = time.monotonic()
    r = await http.delete(
        f"/_revier/admin/v1/users/{device.user_id}/devices/{device.device_id}",
        headers=admin.headers,
    )
    assert r.status_code == 200, r.text
    answer = await asyncio.wait_for(task, 15)
    assert time.monotonic() - started < 5, "answered at its timeout, not at the wipe"
    assert error_of(answer) == (401, "M_UNKNOWN_TOKEN")
    assert answer.json()["soft_logout"] is False  # erase the phone's data, don't re-login
    r = await post(http, device, conn.body, pos=conn.pos, timeout_ms=0)
    assert error_of(r) == (401, "M_UNKNOWN_TOKEN")
