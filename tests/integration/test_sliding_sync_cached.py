"""Sliding sync from what a worker remembers (sliding_memory.py, room_list.py): a
connection whose requests land on different workers, a restart between them, and
the one change to a room list without a stream position (forgetting a room), all
answered exactly as from the database alone."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import Account
from tests.integration.harness import PASSWORD, RevierProcess
from tests.integration.sliding import Connection, one_list, timeline_ids
from tests.integration.steps import (
    create_room,
    invite,
    leave,
    log_in,
    people,
    say,
    shared_room,
)
from tests.integration.workers import two_workers

V3 = "/_matrix/client/v3"


def _count(response: dict[str, object]) -> int:
    lists = response["lists"]
    assert isinstance(lists, dict)
    return int(lists["l"]["count"])


async def _forget(http: httpx.AsyncClient, session: object, room_id: str) -> None:
    headers = session.headers  # type: ignore[attr-defined]
    r = await http.post(f"{V3}/rooms/{room_id}/forget", headers=headers, json={})
    assert r.status_code == 200, r.text


async def test_a_room_forgotten_after_another_connection_saw_the_leave_is_gone(
    http: httpx.AsyncClient, make_user
) -> None:
    """Forgetting writes no stream position: the room list this worker read for the
    other connection (after the leave) must not keep the room for this one."""
    alice, bob = await people(http, make_user, "alice", "bob")
    kept = await shared_room(http, bob, alice)
    gone = await shared_room(http, bob, alice)
    seen = Connection(http, alice, one_list([[0, 9]], timeline_limit=1, conn_id="seen"))
    late = Connection(http, alice, one_list([[0, 9]], timeline_limit=1, conn_id="late"))
    assert _count(await seen.sync(timeout_ms=0)) == 2
    assert _count(await late.sync(timeout_ms=0)) == 2

    await leave(http, alice, gone)
    left = await seen.sync(timeout_ms=0)
    assert _count(left) == 2 and gone in left["rooms"]  # shown once, leaving
    await _forget(http, alice, gone)

    got = await late.sync(timeout_ms=0)
    assert _count(got) == 1
    assert gone not in got["rooms"]
    fresh = Connection(http, alice, one_list([[0, 9]], timeline_limit=1, conn_id="fresh"))
    assert set((await fresh.sync(timeout_ms=0))["rooms"]) == {kept}
    assert _count(await seen.sync(timeout_ms=0)) == 1


@pytest.fixture
def workers(
    engine: str, request: pytest.FixtureRequest, tmp_root: Path
) -> Iterator[list[RevierProcess]]:
    policy = {"room_encryption": "optional"}
    with two_workers(engine, request, tmp_root, "ss_cached", tenant_policy=policy) as procs:
        yield procs


async def test_a_connection_served_by_turns_by_two_workers_and_a_restart_stays_exact(
    workers: list[RevierProcess],
) -> None:
    """Each worker remembers the connection and the user's rooms as it last saw them;
    the other worker moves both on meanwhile. The window holds the top room only, so
    a stale order or a stale snapshot would show as the wrong room or a room resent."""
    a, b = workers
    names = [f"{n}-{secrets.token_hex(3)}" for n in ("alice", "bob")]
    accounts = [Account(a.create_user(n, PASSWORD), n, PASSWORD) for n in names]
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=60) as on_a,
        httpx.AsyncClient(base_url=b.url, timeout=60) as on_b,
    ):
        alice, bob = [await log_in(on_a, account) for account in accounts]
        r1, r2, r3 = [await shared_room(on_b, bob, alice) for _ in range(3)]
        conn = Connection(on_a, alice, one_list([[0, 0]], timeline_limit=1, conn_id="top"))

        async def sync_on(http: httpx.AsyncClient) -> dict[str, object]:
            conn.http = http
            return await conn.sync(timeout_ms=0)

        first = await sync_on(on_a)
        assert (_count(first), set(first["rooms"])) == (3, {r3})

        m1 = await say(on_b, bob, r1, "eins")
        got = await sync_on(on_b)
        assert set(got["rooms"]) == {r1} and timeline_ids(got["rooms"][r1]) == [m1]
        assert got["rooms"][r1].get("initial") is True

        m2 = await say(on_a, bob, r2, "zwei")
        got = await sync_on(on_a)  # A remembers the connection and the list before m1
        assert set(got["rooms"]) == {r2} and timeline_ids(got["rooms"][r2]) == [m2]

        m1b = await say(on_b, bob, r1, "eins again")
        got = await sync_on(on_a)  # r1 was sent on B: not initial here either
        assert set(got["rooms"]) == {r1} and timeline_ids(got["rooms"][r1]) == [m1b]
        assert "initial" not in got["rooms"][r1]

        invited = await create_room(on_b, bob)
        await invite(on_b, bob, invited, alice.user_id)
        got = await sync_on(on_b)
        assert _count(got) == 4 and set(got["rooms"]) == {invited}
        assert "invite_state" in got["rooms"][invited]

        await leave(on_a, alice, r1)
        await say(on_b, bob, r3, "drei")  # r3 tops the list again
        got = await sync_on(on_a)  # the leave is shown once (counted), r3 on top
        assert _count(got) == 4 and set(got["rooms"]) == {r3}

        a.stop()
        a.start()
        async with httpx.AsyncClient(base_url=a.url, timeout=60) as on_a2:
            m2b = await say(on_b, bob, r2, "zwei again")
            got = await sync_on(on_a2)  # a fresh worker: from the database alone
            assert _count(got) == 3 and set(got["rooms"]) == {r2}
            assert timeline_ids(got["rooms"][r2]) == [m2b]
            assert "initial" not in got["rooms"][r2]
            got = await sync_on(on_b)  # and B, whose memory is older still
            assert _count(got) == 3 and got["rooms"] == {}
