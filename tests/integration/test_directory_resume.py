"""A directory sync commits the units of its joiners in batches as it goes:
killed (kill -9) half-way through, the server keeps the members it had, and
the next sync does only the rest — every joiner in the unit and its space
once, and a sync after that has nothing left to do."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from bench.ldap import LdapServer, slapd_missing

from tests.integration.admin_api import login
from tests.integration.conftest import start_server
from tests.integration.harness import INITIAL_ADMIN_PASSWORD, RevierProcess

SYNC = "/_revier/admin/v1/directory/sync"
UNITS = "/_revier/admin/v1/units"
PEOPLE = 300  # three batches of units or more (batch_size 100, SQLite's smaller): room to kill

pytestmark = pytest.mark.skipif(slapd_missing() is not None, reason=str(slapd_missing()))


async def test_a_killed_sync_keeps_its_batches_and_the_next_one_does_the_rest(
    engine: str, request: pytest.FixtureRequest, tmp_root: Path
) -> None:
    people = [(f"res{i}", f"Resume {i}") for i in range(PEOPLE)]
    ldap = LdapServer(tmp_root / f"slapd-resume-{engine}")
    ldap.start(people, {"hundertschaft": [uid for uid, _ in people]})
    server = start_server(
        engine,
        request,
        tmp_root,
        "directory-resume",
        tenant_sections={"directory": {"batch_size": 100, "ldap": ldap.settings()}},
    )
    try:
        await _kill_and_resume(server)
    finally:
        server.stop()
        ldap.stop()


async def _kill_and_resume(server: RevierProcess) -> None:
    admin = _admin(server)
    async with httpx.AsyncClient(base_url=server.url, headers=admin, timeout=120) as http:
        first = asyncio.create_task(http.post(SYNC, json={}))
        at_kill = await _kill_midway(server, http, first)
    with contextlib.suppress(httpx.HTTPError):
        await first  # the connection died with the server
    assert 0 < at_kill < PEOPLE, at_kill

    server.start()
    admin = _admin(server)
    async with httpx.AsyncClient(base_url=server.url, headers=admin, timeout=120) as http:
        r = await http.post(SYNC, json={})
        assert r.status_code == 200, r.text
        done = r.json()["done"]
        assert done["created"] == 0  # every account was made before the kill
        assert 0 < done["moved"] <= PEOPLE - at_kill
        unit = await _unit(http)
        deadline = time.monotonic() + 120
        while unit["pending_jobs"]:  # what the kill interrupted resumes at start-up
            assert time.monotonic() < deadline, "the unit's room work did not finish"
            await asyncio.sleep(0.2)
            unit = await _unit(http)
        assert unit["member_count"] == PEOPLE
        r = await http.get(f"/_revier/admin/v1/rooms/{unit['space_room_id']}")
        joined = set(r.json()["joined_member_ids"])
        assert {f"@res{i}:localhost" for i in range(PEOPLE)} <= joined

        again = await http.post(SYNC, json={})
        assert again.json()["done"] == {
            "created": 0,
            "updated": 0,
            "moved": 0,
            "deactivated": 0,
            "failed": 0,
        }


async def _kill_midway(
    server: RevierProcess, http: httpx.AsyncClient, sync: asyncio.Task[httpx.Response]
) -> int:
    """Kill the server once some joiners are in the unit; how many were."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not sync.done():
        with contextlib.suppress(LookupError):
            count = int((await _unit(http))["member_count"])
            if count > 0:
                server.stop(kill=True)
                return count
        await asyncio.sleep(0.02)
    server.stop(kill=True)
    raise AssertionError("the sync ended (or stalled) before the kill: nothing proven")


async def _unit(http: httpx.AsyncClient) -> dict[str, Any]:
    r = await http.get(UNITS)
    assert r.status_code == 200, r.text
    found = [u for u in r.json()["units"] if u["name"] == "hundertschaft"]
    if not found:
        raise LookupError("the unit is not made yet")
    r = await http.get(f"{UNITS}/{found[0]['unit_id']}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _admin(server: RevierProcess) -> dict[str, str]:
    r = login(server, "admin", INITIAL_ADMIN_PASSWORD)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}
