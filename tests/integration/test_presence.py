"""Presence: set, read, seen by room mates in /sync, and switched off by tenant policy."""

from __future__ import annotations

import asyncio
import time
from functools import partial
from typing import Any

import httpx
from nio import AsyncClient, PresenceEvent, PresenceGetResponse, SyncResponse

from tests.integration.conftest import PASSWORD, server_fixture
from tests.integration.harness import RevierProcess
from tests.integration.matrix import (
    auth,
    next_request_sent,
    shared_room,
    sync_until,
    until_waiting,
)

V3 = "/_matrix/client/v3"


def presence_of(user_id: str, response: SyncResponse) -> PresenceEvent | None:
    found = [e for e in response.presence_events if e.user_id == user_id]
    return found[-1] if found else None


def status_url(user_id: str) -> str:
    return f"{V3}/presence/{user_id}/status"


async def test_own_presence_is_set_and_read_back(alice: AsyncClient) -> None:
    assert (await alice.set_presence("unavailable", "im Einsatz")).__class__.__name__ == (
        "PresenceSetResponse"
    )
    got = await alice.get_presence(alice.user_id)
    assert isinstance(got, PresenceGetResponse), got
    assert (got.presence, got.status_msg, got.currently_active) == (
        "unavailable",
        "im Einsatz",
        False,
    )
    assert isinstance(got.last_active_ago, int)
    await alice.set_presence("online")  # no status_msg: the old one is cleared
    got = await alice.get_presence(alice.user_id)
    assert isinstance(got, PresenceGetResponse)
    assert (got.presence, got.status_msg, got.currently_active) == ("online", None, True)


async def test_a_room_mate_sees_a_change_in_a_waiting_sync(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    await shared_room(alice, bob)
    await bob.sync(timeout=0)
    started = time.monotonic()
    sent = next_request_sent(bob)
    waiting = asyncio.create_task(bob.sync(timeout=20_000, set_presence="offline"))
    params = {"since": bob.next_batch, "set_presence": "offline"}
    await until_waiting(sent, partial(http.get, f"{V3}/sync", params=params, headers=auth(bob)))
    await alice.set_presence("unavailable", "Lage 14:00")
    response = await asyncio.wait_for(waiting, 15)
    assert isinstance(response, SyncResponse), response
    assert time.monotonic() - started < 10, "the change did not wake the waiting sync"

    def alice_away(r: SyncResponse) -> Any:
        event = presence_of(alice.user_id, r)
        return event if event and event.presence == "unavailable" else None

    event = alice_away(response) or await sync_until(bob, alice_away)
    assert event.status_msg == "Lage 14:00"
    got = await bob.get_presence(alice.user_id)
    assert isinstance(got, PresenceGetResponse)
    assert got.presence == "unavailable"


async def test_set_presence_on_sync(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    await shared_room(alice, bob)
    await bob.sync(timeout=0, set_presence="unavailable")
    await sync_until(
        alice, lambda r: (e := presence_of(bob.user_id, r)) and e.presence == "unavailable"
    )
    # "offline" only means "this sync does not make me online": nothing changes.
    await bob.sync(timeout=0, set_presence="offline")
    got = await alice.get_presence(bob.user_id)
    assert isinstance(got, PresenceGetResponse)
    assert got.presence == "unavailable"
    await bob.sync(timeout=0)  # the default is online
    await sync_until(alice, lambda r: (e := presence_of(bob.user_id, r)) and e.presence == "online")
    # Syncing on in the same state is no change for room mates.
    await bob.sync(timeout=0)
    quiet = await alice.sync(timeout=0)
    assert isinstance(quiet, SyncResponse)
    assert presence_of(bob.user_id, quiet) is None
    bad = await http.get(f"{V3}/sync", params={"set_presence": "asleep"}, headers=auth(bob))
    assert (bad.status_code, bad.json()["errcode"]) == (400, "M_INVALID_PARAM")


async def test_a_sync_after_a_change_elsewhere_sets_presence_again(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    """/sync remembers the presence it compared with; a change made since (here
    by another request) must not be hidden by what it remembered."""
    await shared_room(alice, bob)
    await bob.sync(timeout=0)  # online, and remembered as such
    r = await http.put(status_url(bob.user_id), json={"presence": "unavailable"}, headers=auth(bob))
    assert r.status_code == 200, r.text
    await bob.sync(timeout=0)  # the default, online, once more
    got = await alice.get_presence(bob.user_id)
    assert isinstance(got, PresenceGetResponse)
    assert got.presence == "online"


async def test_strangers_and_other_users_are_refused(
    alice: AsyncClient, eve: AsyncClient, http: httpx.AsyncClient
) -> None:
    await alice.set_presence("online")
    for user_id in (alice.user_id, "@nobody:localhost", "not a user id"):
        response = await http.get(status_url(user_id), headers=auth(eve))
        assert (response.status_code, response.json()["errcode"]) == (403, "M_FORBIDDEN")
    other = await http.put(
        status_url(alice.user_id), json={"presence": "offline"}, headers=auth(eve)
    )
    assert (other.status_code, other.json()["errcode"]) == (403, "M_FORBIDDEN")
    first = await eve.sync(timeout=0)
    assert isinstance(first, SyncResponse)
    assert presence_of(alice.user_id, first) is None


async def test_bad_bodies_are_refused(alice: AsyncClient, http: httpx.AsyncClient) -> None:
    for body in (
        {},
        {"presence": "asleep"},
        {"presence": 1},
        {"presence": "online", "status_msg": 5},
        {"presence": "online", "status_msg": "x" * 5000},
    ):
        response = await http.put(status_url(alice.user_id), json=body, headers=auth(alice))
        assert 400 <= response.status_code < 500, (body, response.text)
        assert response.json()["errcode"] in ("M_BAD_JSON", "M_MISSING_PARAM")


quiet_server = server_fixture("nopresence", tenant_policy={"presence_enabled": False})


async def test_presence_can_be_switched_off(quiet_server: RevierProcess) -> None:
    user_id = quiet_server.create_user("quiet", PASSWORD)
    client = AsyncClient(quiet_server.url, user_id)
    await client.login(PASSWORD)
    try:
        async with httpx.AsyncClient(base_url=quiet_server.url) as http:
            for method, body in (("PUT", {"presence": "online"}), ("GET", None)):
                response = await http.request(
                    method, status_url(user_id), json=body, headers=auth(client)
                )
                assert (response.status_code, response.json()["errcode"]) == (403, "M_FORBIDDEN")
                assert "presence" in response.json()["error"].lower()
        synced = await client.sync(timeout=0, set_presence="online")
        assert isinstance(synced, SyncResponse)
        assert synced.presence_events == []
    finally:
        await client.close()
