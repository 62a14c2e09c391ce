"""A deactivation survives kill -9: the server, killed while the account is
leaving its 200 rooms, finishes the job at its next start — every room gets
exactly one leave, none is missed, none doubled."""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.admin_api import Admin, entries, new_admin
from tests.integration.conftest import PASSWORD, start_server
from tests.integration.harness import RevierProcess

ROOMS = 200
OWNERS = 2  # each creates its rooms one after another, all owners at once
USERS = "/_revier/admin/v1/users"
V3 = "/_matrix/client/v3"
_CONCURRENCY = 8


async def bounded(jobs: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    limit = asyncio.Semaphore(_CONCURRENCY)

    async def run(job: Callable[[], Awaitable[Any]]) -> Any:
        async with limit:
            return await job()

    return await asyncio.gather(*(run(job) for job in jobs))


async def wait_for(check: Callable[[], Awaitable[bool]], timeout_s: float, what: str) -> None:
    """Poll an admin API answer (no /sync to wait on for these) with a deadline."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {timeout_s}s: {what}")


class Setup:
    """An admin, room owners, and (per attempt) a member of 200 of their rooms."""

    def __init__(self, server: RevierProcess) -> None:
        self.server = server
        self.admin: Admin = new_admin(server)

    def http(self) -> httpx.AsyncClient:
        # A new client after each restart: the old one's connections died with it.
        return httpx.AsyncClient(base_url=self.server.local_url, timeout=60)

    async def account(self, http: httpx.AsyncClient, prefix: str) -> tuple[str, dict[str, str]]:
        """A new account and the Authorization header of one login."""
        localpart = f"{prefix}-{secrets.token_hex(4)}"
        r = await http.post(
            USERS, json={"localpart": localpart, "password": PASSWORD}, headers=self.admin.headers
        )
        assert r.status_code == 201, r.text
        user_id = r.json()["user_id"]
        r = await http.post(
            f"{V3}/login", json={"type": "m.login.password", "user": user_id, "password": PASSWORD}
        )
        assert r.status_code == 200, r.text
        return user_id, {"Authorization": f"Bearer {r.json()['access_token']}"}

    async def member_of_rooms(
        self, http: httpx.AsyncClient, owners: list[dict[str, str]]
    ) -> tuple[str, list[tuple[str, int]]]:
        """A new account joined to ROOMS new public rooms: (room ID, owner index) each."""
        user_id, member = await self.account(http, "leaver")

        async def rooms_of(index: int) -> list[tuple[str, int]]:
            # One at a time per owner: in room version 12 the room ID is the hash
            # of the create event, the same for one creator within a millisecond.
            created = []
            for _ in range(ROOMS // len(owners)):
                r = await http.post(
                    f"{V3}/createRoom", json={"preset": "public_chat"}, headers=owners[index]
                )
                assert r.status_code == 200, r.text
                room_id: str = r.json()["room_id"]
                r = await http.post(f"{V3}/rooms/{room_id}/join", json={}, headers=member)
                assert r.status_code == 200, r.text
                created.append((room_id, index))
            return created

        per_owner = await asyncio.gather(*(rooms_of(i) for i in range(len(owners))))
        return user_id, [room for rooms in per_owner for room in rooms]

    async def details(self, http: httpx.AsyncClient, user_id: str) -> dict[str, Any]:
        r = await http.get(f"{USERS}/{user_id}", headers=self.admin.headers)
        assert r.status_code == 200, r.text
        details: dict[str, Any] = r.json()
        return details

    async def kill_midway(self, http: httpx.AsyncClient, user_id: str) -> None:
        """Start the deactivation, kill -9 the server once it has left a room."""
        started = asyncio.create_task(
            http.post(f"{USERS}/{user_id}/deactivate", json={}, headers=self.admin.headers)
        )

        async def some_rooms_left() -> bool:
            return bool((await self.details(http, user_id))["joined_rooms_count"] < ROOMS)

        await wait_for(some_rooms_left, 60, "the deactivation to leave a first room")
        self.server.stop(kill=True)
        # Its answer died with the server, unless the kill came too late
        # (the caller sees that in state_at_kill and tries again).
        with contextlib.suppress(httpx.TransportError):
            await started

    def state_at_kill(self, user_id: str) -> tuple[int, bool]:
        """(joined rooms, deactivation pending), read by the command line from the
        database of the stopped server."""
        out = self.server.admin("user", "show", user_id)
        joined = re.search(r"joined_rooms_count:\s+(\d+)", out)
        pending = re.search(r"deactivation_pending:\s+(\w+)", out)
        assert joined and pending, out
        return int(joined.group(1)), pending.group(1) == "yes"


async def test_deactivation_resumes_after_kill_9(
    engine: str, request: pytest.FixtureRequest, tmp_root: Path
) -> None:
    server = start_server(engine, request, tmp_root, "deactivation-crash")
    try:
        await _crash_and_resume(Setup(server))
    finally:
        server.stop()


async def _crash_and_resume(setup: Setup) -> None:
    timings: dict[str, float] = {}
    async with setup.http() as http:
        owners = [await setup.account(http, "owner") for _ in range(OWNERS)]
    for _attempt in range(3):
        async with setup.http() as http:
            t0 = time.monotonic()
            leaver_id, rooms = await setup.member_of_rooms(http, [o[1] for o in owners])
            timings["rooms set up"] = time.monotonic() - t0
            t0 = time.monotonic()
            await setup.kill_midway(http, leaver_id)
            timings["until kill"] = time.monotonic() - t0
        left_at_kill, pending = setup.state_at_kill(leaver_id)
        setup.server.start()
        if pending and left_at_kill > 0:
            break
        # Killed too late (everything left already): that proves nothing. Again.
    else:
        raise AssertionError("the kill never came while rooms were left")
    assert 0 < left_at_kill < ROOMS

    async with setup.http() as http:
        t0 = time.monotonic()

        async def completed() -> bool:
            return not (await setup.details(http, leaver_id))["deactivation_pending"]

        await wait_for(completed, 60, "the resumed deactivation to complete")
        timings["resumed run"] = time.monotonic() - t0
        await _check_left_once(setup, http, leaver_id, rooms, owners)

    found = await entries(setup.server, setup.admin, target=leaver_id, action="user.")
    assert [(e["action"], e["details"]) for e in found] == [
        ("user.created", {"admin": False}),
        ("user.deactivated", {"devices_removed": 1, "rooms": ROOMS}),
        # The run after the restart left exactly the rooms left at the kill.
        ("user.deactivation_completed", {"rooms_left": left_at_kill}),
    ]
    print(f"\n{setup.server.config.parent.name}: {left_at_kill} of {ROOMS} rooms left at the kill;")
    print(", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))


async def _check_left_once(
    setup: Setup,
    http: httpx.AsyncClient,
    leaver_id: str,
    rooms: list[tuple[str, int]],
    owners: list[tuple[str, dict[str, str]]],
) -> None:
    """Out of every room, with exactly one leave each, no device, no login."""
    details = await setup.details(http, leaver_id)
    assert (details["joined_rooms_count"], details["devices"]) == (0, [])
    assert (details["deactivated"], details["deactivation_pending"]) == (True, False)

    async def memberships(room_id: str, owner: int) -> list[str]:
        """The leaver's membership events in the room, oldest first (seen by its owner)."""
        r = await http.get(
            f"{V3}/rooms/{room_id}/messages",
            params={"dir": "b", "limit": 50},
            headers=owners[owner][1],
        )
        assert r.status_code == 200, r.text
        return [
            e["content"]["membership"]
            for e in reversed(r.json()["chunk"])
            if e["type"] == "m.room.member" and e["state_key"] == leaver_id
        ]

    async def members(room_id: str, owner: int) -> list[str]:
        r = await http.get(f"{V3}/rooms/{room_id}/joined_members", headers=owners[owner][1])
        assert r.status_code == 200, r.text
        return sorted(r.json()["joined"])

    histories = await bounded([partial(memberships, *room) for room in rooms])
    assert histories == [["join", "leave"]] * ROOMS
    joined = await bounded([partial(members, *room) for room in rooms])
    assert joined == [[owners[owner][0]] for _, owner in rooms]

    r = await http.post(
        f"{V3}/login", json={"type": "m.login.password", "user": leaver_id, "password": PASSWORD}
    )
    assert (r.status_code, r.json()["errcode"]) == (403, "M_USER_DEACTIVATED")
