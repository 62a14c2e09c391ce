"""Retention (m.room.retention within the tenant's bounds): expired messages vanish
from every read path at once for every member, the background job deletes them
from the database in batches while /sync keeps answering, state stays, closed
rooms are purged in time, and each purge is audited without content.

The server's clock is moved, not waited for (``[testing] clock_file``); moving
it also wakes the purge job.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from nio import RoomMessagesResponse, SyncResponse

from tests.integration.admin_api import Admin, entries, new_admin
from tests.integration.conftest import LOOSE_LIMIT, nio_login, running_server
from tests.integration.harness import RevierProcess
from tests.integration.steps import (
    V3,
    Session,
    both_ways,
    create_room,
    join,
    log_in,
    people,
    say,
    set_state,
)

DAY_MS = 86_400_000
RETENTION = "m.room.retention"
V1 = "/_matrix/client/v1"
SLIDING = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync"


@pytest.fixture(scope="module")
def clock_file(tmp_root: Path, engine: str) -> Path:
    path = tmp_root / f"retention-clock-{engine}"
    path.write_text("0")
    return path


@pytest.fixture(scope="module")
def server(
    engine: str, request: pytest.FixtureRequest, tmp_root: Path, clock_file: Path
) -> Iterator[RevierProcess]:
    policy = {
        "room_encryption": "optional",
        "retention_min_days": 1,
        "retention_max_days": 30,
        "retention_default_days": 30,
        "closed_room_purge_days": 2,
    }
    testing = {"conformance": True, "clock_file": str(clock_file)}
    with running_server(
        engine,
        request,
        tmp_root,
        "retention",
        "--conformance-mode",
        testing=testing,
        tenant_policy=policy,
        ratelimit__login_per_address=LOOSE_LIMIT,
    ) as server:
        yield server


def advance(clock_file: Path, ms: int) -> None:
    """Move the server's clock forward (and so wake the purge job)."""
    clock_file.write_text(str(int(clock_file.read_text() or "0") + ms))
    time.sleep(0.2)  # the server re-reads the file every 50 ms


def stored(server: RevierProcess, event_ids: list[str]) -> set[str]:
    listed = ", ".join(f"'{e}'" for e in event_ids)
    return {
        row[0] for row in server.query(f"SELECT event_id FROM events WHERE event_id IN ({listed})")
    }


async def until(check: Any, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.2)


async def seen_everywhere(http: httpx.AsyncClient, s: Session, room_id: str, text: str) -> set[str]:
    """The read paths that show messages, as the event IDs they give ``s``."""
    room = f"{V3}/rooms/{quote(room_id)}"
    out: set[str] = set()
    r = await http.get(f"{room}/messages", params={"dir": "b", "limit": 50}, headers=s.headers)
    assert r.status_code == 200, r.text
    out |= {e["event_id"] for e in r.json()["chunk"]}
    r = await http.get(f"{V3}/sync", headers=s.headers)
    assert r.status_code == 200, r.text
    out |= {e["event_id"] for e in r.json()["rooms"]["join"][room_id]["timeline"]["events"]}
    body = {"lists": {"all": {"ranges": [[0, 20]], "timeline_limit": 20, "required_state": []}}}
    r = await http.post(SLIDING, json=body, headers=s.headers)
    assert r.status_code == 200, r.text
    out |= {e["event_id"] for e in r.json()["rooms"][room_id].get("timeline", [])}
    search = {"search_categories": {"room_events": {"search_term": text}}}
    r = await http.post(f"{V3}/search", json=search, headers=s.headers)
    assert r.status_code == 200, r.text
    out |= {
        h["result"]["event_id"] for h in r.json()["search_categories"]["room_events"]["results"]
    }
    r = await http.get(f"{V1}/rooms/{quote(room_id)}/threads", headers=s.headers)
    assert r.status_code == 200, r.text
    out |= {e["event_id"] for e in r.json()["chunk"]}
    r = await http.get(f"{V3}/notifications", headers=s.headers)
    assert r.status_code == 200, r.text
    out |= {n["event"]["event_id"] for n in r.json()["notifications"]}
    return out


async def reachable(http: httpx.AsyncClient, s: Session, room_id: str, event_id: str) -> bool:
    room = f"{V3}/rooms/{quote(room_id)}"
    event = await http.get(f"{room}/event/{quote(event_id)}", headers=s.headers)
    context = await http.get(f"{room}/context/{quote(event_id)}", headers=s.headers)
    relations = await http.get(
        f"/_matrix/client/v1/rooms/{quote(room_id)}/relations/{quote(event_id)}", headers=s.headers
    )
    codes = {event.status_code, context.status_code, relations.status_code}
    assert codes <= {200, 404}, (event.text, context.text, relations.text)
    return codes == {200}


async def test_expired_messages_vanish_for_everyone_and_are_purged(
    server: RevierProcess, http: httpx.AsyncClient, make_user: Any, clock_file: Path
) -> None:
    (anna,) = await people(http, make_user, "anna")
    ben_account = make_user("ben")
    ben = await log_in(http, ben_account)
    room_id = await create_room(http, anna, preset="private_chat", name="Lage")
    await http.post(
        f"{V3}/rooms/{quote(room_id)}/invite", json={"user_id": ben.user_id}, headers=anna.headers
    )
    await join(http, ben, room_id)
    await set_state(http, anna, room_id, RETENTION, {"max_lifetime": 2 * DAY_MS})
    old = await say(http, anna, room_id, "Altlage Einsatzbericht")
    reply = await say(
        http,
        ben,
        room_id,
        "Altlage Antwort",
        **{"m.relates_to": {"rel_type": "m.thread", "event_id": old}},
    )
    r = await http.post(
        f"{V3}/rooms/{quote(room_id)}/receipt/m.read/{quote(old)}", json={}, headers=ben.headers
    )
    assert r.status_code == 200, r.text
    for who in (anna, ben):
        assert {old, reply} <= await seen_everywhere(http, who, room_id, "Altlage")
        assert await reachable(http, who, room_id, old)
    # The thread and the notification are there, to vanish below.
    r = await http.get(f"{V1}/rooms/{quote(room_id)}/threads", headers=anna.headers)
    assert old in {e["event_id"] for e in r.json()["chunk"]}
    r = await http.get(f"{V3}/notifications", headers=anna.headers)
    assert reply in {n["event"]["event_id"] for n in r.json()["notifications"]}

    advance(clock_file, 3 * DAY_MS)
    new = await say(http, anna, room_id, "Neulage")
    for who in (anna, ben):
        seen = await seen_everywhere(http, who, room_id, "Altlage")
        assert old not in seen and reply not in seen
        assert not await reachable(http, who, room_id, old)
        assert new in await seen_everywhere(http, who, room_id, "Neulage")
    # A real client (matrix-nio): its first sync and its back-pagination lack them too.
    client = await nio_login(server, ben_account)
    try:
        synced = await client.sync(timeout=0)
        assert isinstance(synced, SyncResponse)
        ids = {e.event_id for e in synced.rooms.join[room_id].timeline.events}
        assert new in ids and old not in ids and reply not in ids
        page = await client.room_messages(room_id, start="", limit=50)
        assert isinstance(page, RoomMessagesResponse)
        assert old not in {e.event_id for e in page.chunk}
    finally:
        await client.close()
    # The state stays, the retention included.
    r = await http.get(f"{V3}/rooms/{quote(room_id)}/state/{RETENTION}", headers=ben.headers)
    assert r.json() == {"max_lifetime": 2 * DAY_MS}

    advance(clock_file, 1000)  # wakes the job once more
    await until(lambda: not stored(server, [old, reply]))
    assert new in stored(server, [new])
    assert server.query(f"SELECT count(*) FROM receipts WHERE event_id = '{old}'")[0][0] in (
        0,
        "0",
    )
    state = server.query(
        f"SELECT count(*) FROM events WHERE room_id = '{room_id}' AND state_key IS NOT NULL",
    )
    assert int(state[0][0]) >= 6  # create, members, power levels, rules, name, retention
    r = await http.get(f"{V3}/rooms/{quote(room_id)}/state", headers=anna.headers)
    assert r.status_code == 200 and any(e["type"] == "m.room.name" for e in r.json())

    admin = new_admin(server)
    purged = [
        e
        for e in await entries(server, admin, target=room_id)
        if e["action"] == "room.retention_purged"
    ]
    assert sum(e["details"]["events_deleted"] for e in purged) >= 2  # type: ignore[index]
    text = json.dumps(purged)
    assert "Altlage" not in text and "oldest_ts" in text


async def test_bounds_are_enforced_and_power_is_needed(
    http: httpx.AsyncClient, make_user: Any
) -> None:
    anna, ben = await people(http, make_user, "anna", "ben")
    room_id = await create_room(http, anna, preset="public_chat")
    await join(http, ben, room_id)
    url = f"{V3}/rooms/{quote(room_id)}/state/{RETENTION}"
    for lifetime in (100 * DAY_MS, DAY_MS // 24):
        r = await http.put(url, json={"max_lifetime": lifetime}, headers=anna.headers)
        assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
        assert "between 1 days and 30 days" in r.json()["error"]
    r = await http.put(url, json={}, headers=anna.headers)  # "keep for ever": above the maximum
    assert r.status_code == 403
    r = await http.put(url, json={"max_lifetime": "lots"}, headers=anna.headers)
    assert (r.status_code, r.json()["errcode"]) == (400, "M_BAD_JSON")
    # A member without the power to change state: refused by the auth rules.
    r = await http.put(url, json={"max_lifetime": 7 * DAY_MS}, headers=ben.headers)
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    r = await http.put(url, json={"max_lifetime": 7 * DAY_MS}, headers=anna.headers)
    assert r.status_code == 200, r.text


async def test_clients_read_the_configuration_as_synapse_serves_it(
    http: httpx.AsyncClient, make_user: Any
) -> None:
    (anna,) = await people(http, make_user, "anna")
    path = "/_matrix/client/unstable/org.matrix.msc1763/retention/configuration"
    r = await http.get(path, headers=anna.headers)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "policies": {"*": {"max_lifetime": 30 * DAY_MS}},
        "limits": {"max_lifetime": {"min": DAY_MS, "max": 30 * DAY_MS}},
    }
    r = await http.get(path)
    assert r.status_code == 401


async def test_a_big_room_is_purged_while_sync_answers(
    server: RevierProcess, http: httpx.AsyncClient, make_user: Any, clock_file: Path
) -> None:
    anna, ben = await people(http, make_user, "anna", "ben")
    room_id = await create_room(http, anna, preset="private_chat")
    await set_state(http, anna, room_id, RETENTION, {"max_lifetime": DAY_MS})
    gate = asyncio.Semaphore(16)

    async def one(i: int) -> str:
        async with gate:
            return await say(http, anna, room_id, f"Meldung {i}")

    sent = await asyncio.gather(*(one(i) for i in range(3000)))
    other = await create_room(http, ben, preset="private_chat")
    r = await http.get(f"{V3}/sync", headers=ben.headers)
    since = r.json()["next_batch"]

    advance(clock_file, 2 * DAY_MS)
    await say(http, anna, room_id, "frisch")  # so no expired message is an extremity
    advance(clock_file, 1000)
    answers = 0
    while stored(server, [sent[0], sent[-1]]) or answers == 0:
        r = await http.get(f"{V3}/sync", params={"since": since, "timeout": 0}, headers=ben.headers)
        assert r.status_code == 200, r.text  # still answers
        answers += 1
        await say(http, ben, other, f"während {answers}")
        await asyncio.sleep(0.05)
    left = server.query(
        f"SELECT count(*) FROM events WHERE room_id = '{room_id}' AND state_key IS NULL",
    )
    assert int(left[0][0]) == 1  # "frisch"


async def test_a_closed_room_is_purged_after_the_tenants_period(
    server: RevierProcess, http: httpx.AsyncClient, make_user: Any, clock_file: Path
) -> None:
    (anna,) = await people(http, make_user, "anna")
    room_id = await create_room(http, anna, preset="private_chat")
    kept = await say(http, anna, room_id, "bis zur Schließung")
    admin: Admin = new_admin(server)
    r = await http.post(
        f"/_revier/admin/v1/rooms/{quote(room_id)}/close", json={}, headers=admin.headers
    )
    assert r.status_code == 200, r.text
    advance(clock_file, DAY_MS)
    await asyncio.sleep(1)
    assert stored(server, [kept])  # one day: not yet
    advance(clock_file, 2 * DAY_MS)

    async def status() -> str:
        r = await http.get(f"/_revier/admin/v1/rooms/{quote(room_id)}", headers=admin.headers)
        return str(r.json()["closed"]["status"])

    deadline = time.monotonic() + 60
    while await status() != "purged":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.2)
    assert not stored(server, [kept])
    actions = {e["action"]: e for e in await entries(server, admin, target=room_id)}
    assert actions["room.purged"]["actor"] == "server:retention"


async def test_a_first_sync_reads_its_rooms_together_as_room_by_room_under_retention(
    server: RevierProcess, http: httpx.AsyncClient, make_user: Any, clock_file: Path
) -> None:
    """With retention, a first sync's rooms read together answer as room by room,
    and the timeline's limit counts only what is still served.

    The purge the clock wakes may delete the expired rows before the sync reads,
    and then both reads agree whatever the statement does: the cutoff inside the
    many-room statement itself is pinned by ``tests/unit/test_many_rooms.py``."""
    (anna,) = await people(http, make_user, "anna")
    short = await create_room(http, anna, preset="private_chat", name="Kurz")
    await set_state(http, anna, short, RETENTION, {"max_lifetime": 1 * DAY_MS})
    kept = await create_room(http, anna, preset="private_chat", name="Lang")
    for room in (short, kept):
        for k in range(12):
            await say(http, anna, room, f"alt {k}")
    advance(clock_file, 2 * DAY_MS)
    await say(http, anna, short, "neu")
    together, apart = await both_ways(http, anna, {"timeline": {"limit": 10}})
    assert together == apart
    timeline = together["join"][short]["timeline"]["events"]
    assert [e["content"]["body"] for e in timeline if "body" in e["content"]] == ["neu"]
    # The limit is filled with the room's state, not spent on what expired.
    assert {"m.room.name", RETENTION} <= {e["type"] for e in timeline}
    assert len(together["join"][kept]["timeline"]["events"]) == 10  # 30 days: all served
