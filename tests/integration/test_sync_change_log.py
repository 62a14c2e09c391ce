"""What the in-memory change log must never do: skip a change (issue 23).

An incremental /sync asks the notifier's change log which of its streams
changed since its token and skips the queries for the rest. These tests go
where that could go wrong: a change made by another process that never told
this server, a client coming back with an old token, and the log actually
being used (so the tests above it test something).
"""

from __future__ import annotations

import asyncio
import re

import httpx
from nio import AsyncClient

from revier.notify.changes import GAP_SECONDS
from tests.integration.harness import RevierProcess
from tests.integration.matrix import auth, shared_room
from tests.integration.test_sync import send, sync, timeline

_KNOWN = re.compile(r'^revier_change_log_answers_total\{answer="known"\} (\S+)$', re.MULTILINE)


async def known_answers(http: httpx.AsyncClient) -> float:
    found = _KNOWN.search((await http.get("/_revier/metrics")).text)
    return float(found.group(1)) if found else 0.0


async def test_a_woken_sync_is_answered_from_the_log_and_complete(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    room_id = await shared_room(alice, bob)
    token = (await sync(http, bob))["next_batch"]
    token = (await sync(http, bob, since=token, timeout=0))["next_batch"]
    before = await known_answers(http)
    waiting = asyncio.create_task(sync(http, bob, since=token, timeout=30_000))
    await asyncio.sleep(0.3)
    event_id = await send(http, alice, room_id, "from the log")
    body = await asyncio.wait_for(waiting, 20)
    assert event_id in [e["event_id"] for e in timeline(body, room_id)["events"]]
    assert body["rooms"]["join"][room_id]["unread_notifications"]["notification_count"] >= 1
    assert await known_answers(http) > before  # the fast path ran, not the fallback


async def test_a_client_back_with_an_old_token_gets_everything_since_it(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    room_id = await shared_room(alice, bob)
    old = (await sync(http, bob))["next_batch"]
    first = [await send(http, alice, room_id, f"a{i}") for i in range(3)]
    middle = (await sync(http, bob, since=old, timeout=0))["next_batch"]
    second = [await send(http, alice, room_id, f"b{i}") for i in range(2)]
    r = await http.put(
        f"/_matrix/client/v3/user/{bob.user_id}/account_data/org.example.mark",
        json={"at": "between"},
        headers=auth(bob),
    )
    assert r.status_code == 200
    again = await sync(http, bob, since=old, timeout=0)
    assert [e["event_id"] for e in timeline(again, room_id)["events"]] == first + second
    types = [e["type"] for e in again["account_data"]["events"]]
    assert "org.example.mark" in types
    newer = await sync(http, bob, since=middle, timeout=0)
    assert [e["event_id"] for e in timeline(newer, room_id)["events"]] == second


async def test_a_change_by_the_admin_command_line_is_in_the_next_sync(
    server: RevierProcess, alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    # The command line is a process of its own and this server has no Redis:
    # its stream positions are never published. The log must not vouch for a
    # window that holds them — at once, and after it gave the gap up.
    room_id = await shared_room(alice, bob)
    token = (await sync(http, alice))["next_batch"]
    await sync(http, alice, since=token, timeout=0)  # the log has seen this position
    await asyncio.to_thread(server.admin, "user", "deactivate", bob.user_id)

    def bob_left(body: dict[str, object]) -> bool:
        events = timeline(body, room_id)["events"]  # type: ignore[arg-type]
        return any(
            e["type"] == "m.room.member"
            and e["state_key"] == bob.user_id
            and e["content"]["membership"] == "leave"
            for e in events
        )

    assert bob_left(await sync(http, alice, since=token, timeout=0))
    await asyncio.sleep(GAP_SECONDS + 0.5)
    assert bob_left(await sync(http, alice, since=token, timeout=0))
    # And afterwards the log answers again, with what this server publishes.
    later = (await sync(http, alice, since=token, timeout=0))["next_batch"]
    event_id = await send(http, alice, room_id, "after the gap")
    body = await sync(http, alice, since=later, timeout=0)
    assert [e["event_id"] for e in timeline(body, room_id)["events"]] == [event_id]


async def test_a_forgotten_room_is_gone_from_the_next_sync_with_leaves(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    # Bob's room list is kept between syncs while the log says his memberships
    # are unchanged; forgetting a room changes the list without an event.
    room_id = await shared_room(alice, bob)
    r = await http.post(f"/_matrix/client/v3/rooms/{room_id}/leave", json={}, headers=auth(bob))
    assert r.status_code == 200
    include_leave = '{"room":{"include_leave":true}}'
    assert room_id in (await sync(http, bob, filter=include_leave))["rooms"]["leave"]
    r = await http.post(f"/_matrix/client/v3/rooms/{room_id}/forget", json={}, headers=auth(bob))
    assert r.status_code == 200
    body = await sync(http, bob, filter=include_leave)
    assert room_id not in body.get("rooms", {}).get("leave", {})
