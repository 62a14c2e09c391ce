"""Pushes to a push gateway on loopback: exactly one per event and pusher, nothing
revealing in it, in order, retried until the gateway is back, after a restart
too; rejected pushkeys end their pusher; a muted room pushes nothing; a gateway
that hangs delays no send and no /sync."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from bench.push_gateway import PushGateway
from nio import RoomSendResponse

from tests.integration.conftest import Account, running_server
from tests.integration.harness import PASSWORD, RevierProcess
from tests.integration.push import (
    APP_ID,
    EVENT_KEYS,
    V3,
    People,
    answering,
    client_fixtures,
    gateway_fixture,
    only,
    push_options,
    push_server_fixture,
    pusher,
    pushkeys,
    room_with,
    send,
    set_pusher,
)
from tests.integration.test_e2e import E2eClients, encrypted_room, receive_text, wait_knows

gateway = gateway_fixture()
push_server = push_server_fixture("push")
people, api, _ = client_fixtures()


@pytest.fixture
def gw(gateway: PushGateway) -> PushGateway:
    return answering(gateway)


async def test_a_phone_gets_one_push_naming_the_event_and_nothing_else(
    push_server: RevierProcess, people: People, gw: PushGateway, tmp_path: Path
) -> None:
    e2e = E2eClients(push_server, tmp_path)
    try:
        alice_id, bob_id = (await people.new()).user_id, (await people.new()).user_id
        alice = await e2e.login(Account(alice_id, alice_id[1:].split(":")[0], PASSWORD), "laptop")
        bob = await e2e.login(Account(bob_id, bob_id[1:].split(":")[0], PASSWORD), "phone")
        room = await encrypted_room(alice, bob)
        await wait_knows(alice, bob.user_id, bob.device_id)
        # Bob's phone registers its pusher over its own matrix-nio session.
        key = f"fcm-{secrets.token_hex(8)}"
        answer = await bob.send(
            "POST",
            f"{V3}/pushers/set",
            json.dumps(pusher(gw, key)),
            headers={"Authorization": f"Bearer {bob.access_token}"},
        )
        assert answer.status == 200, await answer.text()

        sent = await alice.room_send(
            room,
            "m.room.message",
            {"msgtype": "m.text", "body": "Treffpunkt Wache Nord 14:00"},
            ignore_unverified_devices=True,
        )
        assert isinstance(sent, RoomSendResponse), sent
        push = only(await gw.wait_for(1, key), sent.event_id)

        n = push.notification
        assert set(n) == EVENT_KEYS  # no type, sender, names, content or tweaks
        assert (n["room_id"], n["counts"], n["prio"]) == (room, {"unread": 1}, "high")
        device = n["devices"][0]
        assert set(device) == {"app_id", "pushkey", "pushkey_ts", "data"}
        assert (device["app_id"], device["pushkey"]) == (APP_ID, key)
        assert device["data"] == {"format": "event_id_only", "default_payload": {"cs": "s3"}}
        assert "Treffpunkt" not in json.dumps(push.body)
        # The phone fetches the event over its own connection and can read it.
        assert (await receive_text(bob, room, "Treffpunkt Wache Nord 14:00")).body

        second = await alice.room_send(
            room,
            "m.room.message",
            {"msgtype": "m.text", "body": "2"},
            ignore_unverified_devices=True,
        )
        assert isinstance(second, RoomSendResponse), second
        arrivals = await gw.wait_for(2, key)
        assert [a.notification["event_id"] for a in arrivals] == [sent.event_id, second.event_id]
    finally:
        for client in e2e.clients:
            await client.close()


async def test_the_sender_gets_no_push_and_counts_are_rooms_with_unread(
    api: httpx.AsyncClient, people: People, gw: PushGateway
) -> None:
    alice, bob = await people.new(), await people.new()
    alice_key, bob_key = await set_pusher(api, alice, gw), await set_pusher(api, bob, gw)
    first, second = await room_with(api, alice, bob), await room_with(api, alice, bob)
    e1 = await send(api, alice, first)
    e2 = await send(api, alice, first)
    e3 = await send(api, alice, second)
    arrivals = await gw.wait_for(3, bob_key)
    assert [a.notification["event_id"] for a in arrivals] == [e1, e2, e3]
    assert arrivals[-1].notification["counts"] == {"unread": 2}  # two rooms with unread
    assert gw.pushes(alice_key) == []


async def test_a_gateway_down_for_a_while_gets_the_push_once_it_is_back(
    api: httpx.AsyncClient, people: People, gw: PushGateway
) -> None:
    alice, bob = await people.new(), await people.new()
    key = await set_pusher(api, bob, gw)
    room = await room_with(api, alice, bob)
    gw.mode = "fail"
    event = await send(api, alice, room)
    attempts = await gw.wait_for(2, key, attempts=True)  # the first try, then a retry
    assert attempts[1].at - attempts[0].at >= 0.9  # backing off, not hammering
    gw.mode = "ok"
    only(await gw.wait_for(1, key), event)
    later = await send(api, alice, room)
    arrivals = await gw.wait_for(2, key)
    assert [a.notification["event_id"] for a in arrivals] == [event, later]


async def test_a_hanging_gateway_delays_no_send_and_no_sync(
    api: httpx.AsyncClient, people: People, gw: PushGateway
) -> None:
    alice, bob = await people.new(), await people.new()
    key = await set_pusher(api, bob, gw)
    room = await room_with(api, alice, bob)
    sync = await api.get(f"{V3}/sync", params={"timeout": 0}, headers=bob.headers)
    since = sync.json()["next_batch"]
    gw.mode = "hang"
    event = await send(api, alice, room)
    await gw.wait_for(1, key, attempts=True)  # the gateway holds that request open
    started = time.monotonic()
    await send(api, alice, room)
    r = await api.get(f"{V3}/sync", params={"since": since, "timeout": 5000}, headers=bob.headers)
    assert time.monotonic() - started < 2
    assert event in json.dumps(r.json()["rooms"]["join"][room]["timeline"])
    gw.mode = "ok"
    gw.release_hanging()  # the sender sees the connection fail and retries
    arrivals = await gw.wait_for(2, key)
    assert arrivals[0].notification["event_id"] == event


async def test_a_pushkey_the_gateway_rejects_loses_its_pusher(
    api: httpx.AsyncClient, people: People, gw: PushGateway
) -> None:
    alice, bob = await people.new(), await people.new()
    dead = await set_pusher(api, bob, gw)
    alive = await set_pusher(api, bob, gw, app_id="org.revier.test.ios")
    room = await room_with(api, alice, bob)
    gw.rejected = {dead}
    await send(api, alice, room)
    await gw.wait_for(1, dead)
    deadline = time.monotonic() + 10
    while dead in await pushkeys(api, bob):
        assert time.monotonic() < deadline, "the rejected pusher is still there"
    assert await pushkeys(api, bob) == [alive]
    event = await send(api, alice, room)
    only(await gw.wait_for(2, alive), event)
    assert len(gw.pushes(dead, attempts=True)) == 1


async def test_a_muted_room_pushes_nothing(
    api: httpx.AsyncClient, people: People, gw: PushGateway
) -> None:
    alice, bob = await people.new(), await people.new()
    key = await set_pusher(api, bob, gw)
    muted, other = await room_with(api, alice, bob), await room_with(api, alice, bob)
    rule = await api.put(
        f"{V3}/pushrules/global/room/{muted}", json={"actions": []}, headers=bob.headers
    )
    assert rule.status_code == 200, rule.text
    await send(api, alice, muted)
    event = await send(api, alice, other)
    # Pushes go in stream order: once the later event is pushed, the earlier one
    # would have been.
    assert [a.notification["event_id"] for a in await gw.wait_for(1, key)] == [event]


async def test_pushes_owed_when_the_server_dies_are_sent_after_it_starts_again_once(
    engine: str, request: pytest.FixtureRequest, tmp_root: Path, gw: PushGateway, password_hash: str
) -> None:
    with running_server(engine, request, tmp_root, "push-restart", **push_options(gw)) as server:
        people = People(server, password_hash)
        alice, bob = await people.new(), await people.new()
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            key = await set_pusher(http, bob, gw)
            room = await room_with(http, alice, bob)
            gw.mode = "fail"
            event = await send(http, alice, room)
        await gw.wait_for(1, key, attempts=True)
        server.stop(kill=True)  # SIGKILL: nothing gets written on the way out
        gw.mode = "ok"
        server.start()
        only(await gw.wait_for(1, key), event)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            later = await send(http, alice, room)  # the sender is running again
        arrivals = await gw.wait_for(2, key)
        assert [a.notification["event_id"] for a in arrivals] == [event, later]


@pytest.fixture(scope="module")
def full_server(
    engine: str, request: pytest.FixtureRequest, tmp_root: Path, gateway: PushGateway
) -> Iterator[RevierProcess]:
    options = push_options(gateway, push_content="full")
    with running_server(engine, request, tmp_root, "push-full", **options) as server:
        yield server


async def test_a_tenant_allowing_more_gets_names_but_never_encrypted_content(
    full_server: RevierProcess, gw: PushGateway, password_hash: str
) -> None:
    people = People(full_server, password_hash)
    alice, bob = await people.new(), await people.new()
    async with httpx.AsyncClient(base_url=full_server.url, timeout=30) as http:
        key = await set_pusher(http, bob, gw, data={"url": gw.url})  # no format: all allowed
        bare = await set_pusher(http, bob, gw, app_id="org.revier.test.ios")  # event_id_only
        room = await room_with(http, alice, bob, name="Lage Nord")
        plain = await send(http, alice, room, {"msgtype": "m.text", "body": "Lage 14:00"})
        secret = {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AwgAEn…", "session_id": "s"}
        encrypted = await send(http, alice, room, secret, "m.room.encrypted")
    arrivals = await gw.wait_for(2, key)
    n = only(arrivals, plain).notification
    assert (n["type"], n["sender"], n["room_name"]) == (
        "m.room.message",
        alice.user_id,
        "Lage Nord",
    )
    assert n["sender_display_name"] == alice.localpart
    assert n["content"] == {"msgtype": "m.text", "body": "Lage 14:00"}
    e = only(arrivals, encrypted).notification
    assert (e["type"], e["sender"], e["prio"]) == ("m.room.encrypted", alice.user_id, "high")
    assert "content" not in e and "AwgAEn" not in json.dumps(e)
    for arrival in await gw.wait_for(2, bare):  # asked for event_id_only: gets it
        assert set(arrival.notification) == EVENT_KEYS


async def test_an_invite_pushes_the_invitee_and_a_room_left_no_longer_counts(
    api: httpx.AsyncClient, people: People, gw: PushGateway
) -> None:
    alice, bob = await people.new(), await people.new()
    key = await set_pusher(api, bob, gw)
    created = await api.post(
        f"{V3}/createRoom", json={"invite": [bob.user_id]}, headers=alice.headers
    )
    room = created.json()["room_id"]
    [invite] = await gw.wait_for(1, key)
    n = invite.notification
    assert (n["room_id"], n["counts"], set(n)) == (room, {"unread": 1}, EVENT_KEYS)

    other = await room_with(api, alice, bob)
    assert (await api.post(f"{V3}/rooms/{room}/leave", json={}, headers=bob.headers)).is_success
    event = await send(api, alice, other)
    push = only(await gw.wait_for(2, key), event)
    assert push.notification["counts"] == {"unread": 1}  # the invite's room went


async def test_a_gateway_the_tenant_no_longer_allows_gets_nothing(
    engine: str, request: pytest.FixtureRequest, tmp_root: Path, gw: PushGateway, password_hash: str
) -> None:
    dropped = await PushGateway().start()
    try:
        options = push_options(gw)
        options["tenant_policy"]["push_gateways"] = [gw.origin, dropped.origin]
        with running_server(engine, request, tmp_root, "push-policy", **options) as server:
            people = People(server, password_hash)
            alice, bob = await people.new(), await people.new()
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                room = await room_with(http, alice, bob)
                kept = await set_pusher(http, bob, gw)
                gone = await set_pusher(
                    http, bob, gw, app_id="org.revier.test.ios", data={"url": dropped.url}
                )
            # The organisation takes the second gateway off its list.
            text = server.config.read_text()
            server.config.write_text(text.replace(f', "{dropped.origin}"', ""))
            assert dropped.origin not in server.config.read_text()
            server.stop()
            server.start()
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                event = await send(http, alice, room)
                await gw.wait_for_event(event, kept)
                assert gone in await pushkeys(http, bob)  # still listed, never used
        assert dropped.attempts == []
    finally:
        await dropped.stop()
