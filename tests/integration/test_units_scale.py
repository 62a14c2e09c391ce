"""A big unit: the room work runs as a background job in committed batches, and
other users' /sync keeps answering meanwhile (not timed).

400 members are many committed batches (a few memberships each, sized per
engine in ``services/org/batches.py``): enough for progress between batches and
for requests in between. The 2,000-member unit is the benchmark's
(``python -m bench org``), where its time is measured; ``test_units_resume`` kills
the server half-way through such a job."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx
from nio import SyncResponse

from tests.integration.admin_api import Admin, entries
from tests.integration.harness import RevierProcess
from tests.integration.matrix import shared_room
from tests.integration.units import UNITS, UnitsApi, fixtures, send

http, api, login = fixtures()
MEMBERS = 400


async def test_a_big_unit_changes_in_batches_while_sync_answers(
    org_server: RevierProcess,
    password_hash: str,
    api: UnitsApi,
    admin: Admin,
    http: httpx.AsyncClient,
    login: Any,
) -> None:
    people = org_server.import_users(
        [f"bulk-{secrets.token_hex(5)}" for _ in range(MEMBERS)], password_hash
    )
    alice, bob = await login(), await login()
    chat = await shared_room(alice, bob)
    unit = await api.unit("Bereitschaftspolizei")
    room = await api.attach(unit["unit_id"], "auto_join", name="BePo Lage")

    added = await api.ok(
        "POST", f"{UNITS}/{unit['unit_id']}/members", {"members": [{"user_id": u} for u in people]}
    )
    assert added["added"] == MEMBERS and len(added["job_ids"]) == 1
    progress: list[int] = []
    answered_meanwhile = received = 0
    while jobs := (await api.ok("GET", f"{UNITS}/{unit['unit_id']}"))["pending_jobs"]:
        progress.append(jobs[0]["users_left"])
        # Others' /sync answers during the job, and a message gets through.
        assert (await send(http, alice, chat, f"Lage {len(progress)}")).status_code == 200
        response = await bob.sync(timeout=0)
        assert isinstance(response, SyncResponse), response
        answered_meanwhile += 1
        got = response.rooms.join.get(chat)
        received += len(got.timeline.events) if got else 0
        await asyncio.sleep(0.2)
    assert answered_meanwhile > 0, "the job ended before anyone could sync"
    assert received > 0, "no message got through during the job"
    # Worked off in batches: partial progress was seen between start and end.
    assert any(0 < left < MEMBERS for left in progress), progress
    assert progress == sorted(progress, reverse=True)

    info = await api.ok("GET", f"/_revier/admin/v1/rooms/{room}")
    assert len(info["joined_member_ids"]) == MEMBERS + 1  # and the service account
    done = await entries(org_server, admin, target=unit["unit_id"], action="unit.rooms_updated")
    assert isinstance(details := done[-1]["details"], dict) and details["users"] == MEMBERS
