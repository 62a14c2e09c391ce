"""Several worker processes on one PostgreSQL database, woken across through Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import PASSWORD
from tests.integration.harness import RevierProcess
from tests.integration.matrix import waiting_sync
from tests.integration.workers import two_workers

V3 = "/_matrix/client/v3"


@pytest.fixture(scope="module")  # two workers and a Redis, shared by this module's tests
def workers(
    engine: str, request: pytest.FixtureRequest, tmp_root: Path
) -> Iterator[list[RevierProcess]]:
    policy = {"room_encryption": "optional"}
    with two_workers(engine, request, tmp_root, "workers", tenant_policy=policy) as procs:
        yield procs


async def login(http: httpx.AsyncClient, user: str) -> dict[str, str]:
    r = await http.post(
        f"{V3}/login", json={"type": "m.login.password", "user": user, "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_a_send_on_one_worker_wakes_a_sync_on_the_other(
    workers: list[RevierProcess],
) -> None:
    a, b = workers
    a.create_user("wa", PASSWORD)
    a.create_user("wb", PASSWORD)
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=60) as on_a,
        httpx.AsyncClient(base_url=b.url, timeout=60) as on_b,
    ):
        alice = await login(on_a, "wa")
        bob = await login(on_b, "wb")
        r = await on_a.post(f"{V3}/createRoom", json={"preset": "public_chat"}, headers=alice)
        room_id = r.json()["room_id"]
        assert (await on_b.post(f"{V3}/join/{room_id}", json={}, headers=bob)).status_code == 200
        token = (await on_b.get(f"{V3}/sync", headers=bob)).json()["next_batch"]
        waiting = await waiting_sync(on_b, token, 30000, bob)  # on worker B
        started = time.monotonic()
        r = await on_a.put(
            f"{V3}/rooms/{room_id}/send/m.room.message/1",
            json={"msgtype": "m.text", "body": "across"},
            headers=alice,
        )
        assert r.status_code == 200
        body = (await asyncio.wait_for(waiting, 20)).json()
        assert time.monotonic() - started < 5
        events = body["rooms"]["join"][room_id]["timeline"]["events"]
        assert "across" in [e["content"].get("body") for e in events]


async def test_what_one_worker_writes_is_in_the_other_worker_s_woken_sync(
    workers: list[RevierProcess],
) -> None:
    # Each worker's change log hears the other's commits through Redis: a sync
    # woken on B must not take A's account data, receipt and message for
    # "nothing changed" (issue 23's stream caches).
    a, b = workers
    a.create_user("wlog1", PASSWORD)
    a.create_user("wlog2", PASSWORD)
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=60) as on_a,
        httpx.AsyncClient(base_url=b.url, timeout=60) as on_b,
    ):
        alice = await login(on_a, "wlog1")
        bob_on_a = await login(on_a, "wlog2")
        bob = await login(on_b, "wlog2")
        r = await on_a.post(f"{V3}/createRoom", json={"preset": "public_chat"}, headers=alice)
        room_id = r.json()["room_id"]
        assert (await on_b.post(f"{V3}/join/{room_id}", json={}, headers=bob)).status_code == 200
        token = (await on_b.get(f"{V3}/sync", headers=bob)).json()["next_batch"]
        token = (await on_b.get(f"{V3}/sync", params={"since": token}, headers=bob)).json()[
            "next_batch"
        ]
        waiting = await waiting_sync(on_b, token, 30000, bob)
        r = await on_a.put(
            f"{V3}/user/@wlog2:localhost/account_data/org.example.across",
            json={"from": "a"},
            headers=bob_on_a,
        )
        assert r.status_code == 200
        body = (await asyncio.wait_for(waiting, 20)).json()
        assert "org.example.across" in [e["type"] for e in body["account_data"]["events"]]
        token = body["next_batch"]
        waiting = await waiting_sync(on_b, token, 30000, bob)
        r = await on_a.put(
            f"{V3}/rooms/{room_id}/send/m.room.message/log1",
            json={"msgtype": "m.text", "body": "logged"},
            headers=alice,
        )
        event_id = r.json()["event_id"]
        body = (await asyncio.wait_for(waiting, 20)).json()
        events = body["rooms"]["join"][room_id]["timeline"]["events"]
        assert event_id in [e["event_id"] for e in events]
        token = body["next_batch"]
        waiting = await waiting_sync(on_b, token, 30000, bob)
        r = await on_a.post(
            f"{V3}/rooms/{room_id}/receipt/m.read/{event_id}", json={}, headers=alice
        )
        assert r.status_code == 200
        body = (await asyncio.wait_for(waiting, 20)).json()
        ephemeral = body["rooms"]["join"][room_id]["ephemeral"]["events"]
        assert any(e["type"] == "m.receipt" and event_id in e["content"] for e in ephemeral)


async def test_a_wipe_from_the_command_line_ends_a_waiting_sync_at_once(
    workers: list[RevierProcess],
) -> None:
    # The CLI is a process of its own: its wake-up must reach the workers
    # through Redis before it exits, or the wiped device syncs on for a while.
    a, _ = workers
    a.create_user("wlost", PASSWORD)
    async with httpx.AsyncClient(base_url=a.url, timeout=60) as http:
        lost = await login(http, "wlost")
        device_id = (await http.get(f"{V3}/account/whoami", headers=lost)).json()["device_id"]
        token = (await http.get(f"{V3}/sync", headers=lost)).json()["next_batch"]
        waiting = await waiting_sync(http, token, 30000, lost)
        started = time.monotonic()
        await asyncio.to_thread(a.admin, "device", "wipe", "wlost", device_id)
        r = await asyncio.wait_for(waiting, 25)
        assert (r.status_code, r.json()["errcode"]) == (401, "M_UNKNOWN_TOKEN")
        assert r.json()["soft_logout"] is False
        # The CLI's own start-up takes seconds; the wait must not run its 30 s.
        assert time.monotonic() - started < 20


async def test_a_room_muted_on_one_worker_is_muted_on_the_other(
    workers: list[RevierProcess],
) -> None:
    await _second_message_notifies_nobody(workers, "mute")


async def test_a_sender_ignored_on_one_worker_is_ignored_on_the_other(
    workers: list[RevierProcess],
) -> None:
    await _second_message_notifies_nobody(workers, "ignore")


async def _second_message_notifies_nobody(workers: list[RevierProcess], change: str) -> None:
    # Worker A keeps Bob's push rules and who ignores Alice in memory, for every
    # message it stores; Bob mutes the room, or ignores Alice, through worker B.
    a, b = workers
    a.create_user(f"{change}a", PASSWORD)
    a.create_user(f"{change}b", PASSWORD)
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=60) as on_a,
        httpx.AsyncClient(base_url=b.url, timeout=60) as on_b,
    ):
        alice = await login(on_a, f"{change}a")
        bob = await login(on_b, f"{change}b")
        r = await on_a.post(f"{V3}/createRoom", json={"preset": "public_chat"}, headers=alice)
        room_id = r.json()["room_id"]
        assert (await on_b.post(f"{V3}/join/{room_id}", json={}, headers=bob)).status_code == 200

        async def send(txn: str) -> None:
            r = await on_a.put(
                f"{V3}/rooms/{room_id}/send/m.room.message/{txn}",
                json={"msgtype": "m.text", "body": txn},
                headers=alice,
            )
            assert r.status_code == 200

        async def unread() -> int:
            body = (await on_b.get(f"{V3}/sync", headers=bob)).json()
            return int(body["rooms"]["join"][room_id]["unread_notifications"]["notification_count"])

        await send("before")  # worker A now holds Bob's rules
        assert await unread() == 1
        token = (await on_a.get(f"{V3}/sync", headers=bob)).json()["next_batch"]
        waiting = await waiting_sync(on_a, token, 30000, bob)  # wakes once A heard of it
        if change == "mute":
            path, body = f"{V3}/pushrules/global/room/{room_id}", {"actions": []}
        else:
            bob_id = (await on_b.get(f"{V3}/account/whoami", headers=bob)).json()["user_id"]
            alice_id = bob_id.replace(f"@{change}b:", f"@{change}a:")
            path = f"{V3}/user/{bob_id}/account_data/m.ignored_user_list"
            body = {"ignored_users": {alice_id: {}}}
        r = await on_b.put(path, json=body, headers=bob)
        assert r.status_code == 200
        await asyncio.wait_for(waiting, 20)
        await send("muted")
        assert await unread() == 1  # the second message notified nobody
        if change == "ignore":
            # Worker A also kept whom Bob ignores (read by his /sync there
            # before the change): his next /sync there hides Alice's message.
            r = await on_a.get(f"{V3}/sync", params={"since": token}, headers=bob)
            joined = r.json().get("rooms", {}).get("join", {})
            timeline = joined.get(room_id, {}).get("timeline", {})
            bodies = [e["content"].get("body") for e in timeline.get("events", [])]
            assert "muted" not in bodies, bodies
