"""Sliding sync extensions: to-device (delivered until acknowledged), e2ee (key
counts, device lists), account data, receipts and typing, each scoped to the rooms
its ``lists``/``rooms`` name, each waking a waiting connection."""

from __future__ import annotations

import json

import httpx
import nacl.signing
import pytest

from tests.integration.sliding import (
    Connection,
    encryption_body,
    fresh,
    one_list,
    to_device_contents,
)
from tests.integration.steps import (
    V3,
    JsonDict,
    account_data,
    leave,
    log_in,
    people,
    receipt,
    say,
    send_to_device,
    shared_room,
    typing,
)
from tests.integration.test_e2e_keys import device_keys

pytestmark = pytest.mark.one_engine


def with_extensions(body: JsonDict, **extensions: JsonDict) -> JsonDict:
    return {**body, "extensions": extensions}


ON = {"enabled": True}


async def test_to_device_is_delivered_until_acknowledged_then_deleted(
    http: httpx.AsyncClient, make_user
) -> None:
    alice, bob = await people(http, make_user, "alice", "bob")
    conn = Connection(http, bob, encryption_body())
    first = await conn.sync()
    assert first["extensions"]["to_device"]["events"] == []
    conn.body = encryption_body(since=first["extensions"]["to_device"]["next_batch"])

    task = await conn.waiting(30_000)
    await send_to_device(http, alice, bob, {"n": 1})
    got = await conn.woken(task)
    assert to_device_contents(got) == [{"n": 1}]
    [event] = got["extensions"]["to_device"]["events"]
    assert (event["type"], event["sender"]) == ("m.test", alice.user_id)

    await send_to_device(http, alice, bob, {"n": 2})
    # The answer never arrived: the same since gives everything unacknowledged again.
    for _ in range(2):
        again = await conn.sync(timeout_ms=0)
        assert to_device_contents(again) == [{"n": 1}, {"n": 2}]
    conn.body = encryption_body(since=again["extensions"]["to_device"]["next_batch"])
    assert to_device_contents(await conn.sync(timeout_ms=0)) == []
    # Acknowledged means deleted, also for a connection that starts over.
    assert to_device_contents(await fresh(http, bob, encryption_body())) == []
    assert to_device_contents(await fresh(http, alice, encryption_body())) == []

    for n in range(3):
        await send_to_device(http, alice, bob, {"n": n})
    capped = encryption_body()
    capped["extensions"]["to_device"]["limit"] = 2
    part = await fresh(http, bob, capped)
    assert to_device_contents(part) == [{"n": 0}, {"n": 1}]
    capped["extensions"]["to_device"]["since"] = part["extensions"]["to_device"]["next_batch"]
    assert to_device_contents(await fresh(http, bob, capped)) == [{"n": 2}]


async def test_e2ee_key_counts_and_device_lists(http: httpx.AsyncClient, make_user) -> None:
    alice_account = make_user("alice")
    alice = await log_in(http, alice_account)
    (bob,) = await people(http, make_user, "bob")
    room = await shared_room(http, alice, bob)
    conn = Connection(http, bob, encryption_body())
    e2ee = (await conn.sync())["extensions"]["e2ee"]
    # Both SDKs read a missing fallback list as "the server has no fallback keys".
    assert e2ee["device_one_time_keys_count"]["signed_curve25519"] == 0
    assert e2ee["device_unused_fallback_key_types"] == []
    assert not e2ee.get("device_lists", {}).get("changed")  # first request: none

    key = {"key": "a2V5", "signatures": {bob.user_id: {f"ed25519:{bob.device_id}": "c2ln"}}}
    r = await http.post(
        f"{V3}/keys/upload",
        headers=bob.headers,
        json={
            "one_time_keys": {"signed_curve25519:AAAAAQ": key},
            "fallback_keys": {"signed_curve25519:AAAAAg": {**key, "fallback": True}},
        },
    )
    assert r.status_code == 200, r.text
    e2ee = (await conn.sync(timeout_ms=0))["extensions"]["e2ee"]
    assert e2ee["device_one_time_keys_count"]["signed_curve25519"] == 1
    assert e2ee["device_unused_fallback_key_types"] == ["signed_curve25519"]

    task = await conn.waiting(30_000)
    phone = await log_in(http, alice_account)
    keys = device_keys(alice.user_id, phone.device_id, nacl.signing.SigningKey.generate())
    r = await http.post(f"{V3}/keys/upload", headers=phone.headers, json={"device_keys": keys})
    assert r.status_code == 200, r.text
    got = await conn.woken(task)
    assert alice.user_id in got["extensions"]["e2ee"]["device_lists"]["changed"]

    await leave(http, alice, room)  # the only room they share
    got = await conn.sync(timeout_ms=10_000)
    assert alice.user_id in got["extensions"]["e2ee"]["device_lists"]["left"]


async def test_account_data_global_and_for_listed_rooms(http: httpx.AsyncClient, make_user) -> None:
    alice, bob = await people(http, make_user, "alice", "bob")
    older = await shared_room(http, alice, bob)
    listed = await shared_room(http, alice, bob)
    await account_data(http, bob, "org.example.settings", {"theme": "dunkel"})
    await account_data(http, bob, "org.example.room", {"x": 1}, room_id=listed)
    await account_data(http, bob, "org.example.room", {"x": 2}, room_id=older)
    conn = Connection(http, bob, with_extensions(one_list([[0, 0]]), account_data=ON))
    data = (await conn.sync())["extensions"]["account_data"]
    types = {e["type"]: e["content"] for e in data["global"]}
    assert "global" in types["m.push_rules"]  # a fresh connection gets the push rules
    assert types["org.example.settings"] == {"theme": "dunkel"}
    assert {"type": "org.example.room", "content": {"x": 1}} in data["rooms"][listed]
    assert older not in data["rooms"]  # outside the window

    task = await conn.waiting(30_000)
    await account_data(http, bob, "org.example.settings", {"theme": "hell"})
    data = (await conn.woken(task))["extensions"]["account_data"]
    assert data["global"] == [{"type": "org.example.settings", "content": {"theme": "hell"}}]
    await account_data(http, bob, "org.example.room", {"x": 3}, room_id=older)
    data = (await conn.sync(timeout_ms=1000))["extensions"]["account_data"]
    assert older not in data.get("rooms", {})
    # Element X reads notification settings from m.push_rules: a change comes down.
    r = await http.put(
        f"{V3}/pushrules/global/room/{listed}", headers=bob.headers, json={"actions": []}
    )
    assert r.status_code == 200, r.text
    data = (await conn.sync(timeout_ms=10_000))["extensions"]["account_data"]
    [rules] = [e["content"] for e in data["global"] if e["type"] == "m.push_rules"]
    assert listed in [rule["rule_id"] for rule in rules["global"]["room"]]


async def test_receipts_come_through_and_private_ones_stay_private(
    http: httpx.AsyncClient, make_user
) -> None:
    alice, bob = await people(http, make_user, "alice", "bob")
    room = await shared_room(http, alice, bob)
    first = await say(http, alice, room, "lies mich")
    body = with_extensions(one_list([[0, 0]], timeline_limit=1), receipts=ON)
    conn = Connection(http, alice, body)
    await conn.sync()

    task = await conn.waiting(30_000)
    await receipt(http, bob, room, first)
    got = (await conn.woken(task))["extensions"]["receipts"]["rooms"][room]
    assert got["type"] == "m.receipt"
    assert isinstance(got["content"][first]["m.read"][bob.user_id]["ts"], int)

    # A new connection gets the receipts on the events of its timeline.
    initial = (await fresh(http, alice, body))["extensions"]["receipts"]["rooms"][room]
    assert bob.user_id in initial["content"][first]["m.read"]

    second = await say(http, alice, room, "privat gelesen")
    await conn.sync()
    await receipt(http, bob, room, second, "m.read.private")
    assert "m.read.private" not in json.dumps(await conn.sync(timeout_ms=1000))
    assert "m.read.private" not in json.dumps(await fresh(http, alice, body))
    # Bob's own private receipt is his to see.
    mine = (await fresh(http, bob, body))["extensions"]["receipts"]["rooms"][room]
    assert bob.user_id in mine["content"][second]["m.read.private"]


async def test_typing_comes_through_for_the_rooms_the_extension_names(
    http: httpx.AsyncClient, make_user
) -> None:
    alice, bob = await people(http, make_user, "alice", "bob")
    subscribed = await shared_room(http, alice, bob)
    listed = await shared_room(http, alice, bob)  # the most recent: the window [[0, 0]]
    conn = Connection(http, alice, with_extensions(one_list([[0, 0]]), typing=ON))
    await conn.sync()
    task = await conn.waiting(30_000)
    await typing(http, bob, listed)
    got = (await conn.woken(task))["extensions"]["typing"]["rooms"]
    assert got[listed] == {"type": "m.typing", "content": {"user_ids": [bob.user_id]}}
    await typing(http, bob, subscribed)  # outside the window: not this connection's
    assert subscribed not in (await conn.sync(timeout_ms=1000))["extensions"]["typing"]["rooms"]
    await typing(http, bob, listed, on=False)
    got = (await conn.sync(timeout_ms=10_000))["extensions"]["typing"]["rooms"]
    assert got[listed]["content"]["user_ids"] == []

    async def typing_rooms(scope: JsonDict) -> set[str]:
        body = with_extensions(one_list([[0, 0]]), typing={**ON, **scope})
        body["room_subscriptions"] = {subscribed: {"timeline_limit": 0, "required_state": []}}
        return set((await fresh(http, alice, body))["extensions"]["typing"]["rooms"])

    await typing(http, bob, listed)
    await typing(http, bob, subscribed)
    assert await typing_rooms({}) == {listed, subscribed}  # defaults: lists and rooms "*"
    assert await typing_rooms({"lists": [], "rooms": [subscribed]}) == {subscribed}
    assert await typing_rooms({"lists": ["l"], "rooms": []}) == {listed}
    assert await typing_rooms({"lists": [], "rooms": []}) == set()


async def test_only_enabled_extensions_are_answered(http: httpx.AsyncClient, make_user) -> None:
    (me,) = await people(http, make_user, "sparsam")
    body = with_extensions(
        one_list([[0, 9]]),
        to_device={},
        e2ee={"enabled": False},
        receipts={"enabled": False},
        typing={},
        **{"org.example.unknown": ON},
    )
    assert (await fresh(http, me, body)).get("extensions", {}) == {}
