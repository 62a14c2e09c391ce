"""``python -m bench org``: the organisation scenario of issue #20, revier only.

An OpenLDAP directory (slapd, generated: ``--accounts`` people in ``--units``
groups, one of them with ``--big-unit`` members) is synced into a fresh revier:

- ``first_sync_s``: the first full sync (accounts and units);
- ``attach_s``: ``--rooms`` auto_join rooms attached to the units, until every
  member is in their unit's rooms (the background jobs done);
- ``moves_sync_s``: an incremental sync after ``--moves`` people changed group;
- ``sync_p50_ms``/``sync_max_ms``: ``/sync`` answers of ``--watchers`` other
  users polling while the big unit's members all move to another unit (the
  re-sync and its room work). Targets (issue #20): first sync under 30 min at
  25,000 accounts, 50 moves under 1 min, no ``/sync`` delayed over 200 ms.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.ldap import LdapServer, person_password
from bench.servers import Revier

SYNC = "/_revier/admin/v1/directory/sync"
UNITS = "/_revier/admin/v1/units"


@dataclass
class OrgSizes:
    accounts: int = 25_000
    units: int = 2_000
    rooms: int = 5_000
    moves: int = 50
    big_unit: int = 2_000
    watchers: int = 10


def _tree(sz: OrgSizes) -> tuple[list[tuple[str, str]], dict[str, list[str]]]:
    """People p0…, groups g0… (g0 the big one); the rest spread evenly."""
    people = [(f"p{i}", f"Person {i}") for i in range(sz.accounts)]
    groups: dict[str, list[str]] = {f"g{j}": [] for j in range(sz.units)}
    for i, (uid, _) in enumerate(people):
        if i < sz.big_unit:
            groups["g0"].append(uid)
        else:
            groups[f"g{1 + i % max(sz.units - 1, 1)}"].append(uid)
    return people, groups


async def run_org(
    sz: OrgSizes, log: Callable[[str], None], work: Path | None = None
) -> dict[str, Any]:
    work = work or Path(tempfile.mkdtemp(prefix="revier-bench-org-"))
    people, groups = _tree(sz)
    ldap = LdapServer(work / "slapd")
    log(f"slapd: {len(people)} people in {len(groups)} groups")
    ldap.start(people, groups)
    server = Revier("revier", work / "revier")
    server.workdir.mkdir(parents=True)
    settings = ldap.settings()
    server.extra_toml = (
        "[tenants.directory]\nbatch_size = 500\n[tenants.directory.ldap]\n"
        + "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items())
    )
    try:
        server.start()
        async with aiohttp.ClientSession() as http:
            return await _measure(http, server, ldap, sz, groups, log)
    finally:
        server.stop()
        ldap.stop()


async def _measure(
    http: aiohttp.ClientSession,
    server: Revier,
    ldap: LdapServer,
    sz: OrgSizes,
    groups: dict[str, list[str]],
    log: Callable[[str], None],
) -> dict[str, Any]:
    admin = await _login(http, server.url, "admin", server.env["REVIER_ADMIN_PASSWORD"])
    out: dict[str, Any] = {"sizes": vars(sz)}
    log("first full sync")
    t = time.monotonic()
    done = await _post(http, server.url + SYNC, admin, {})
    out["first_sync_s"] = round(time.monotonic() - t, 2)
    out["created"] = done["done"]["created"]
    units = await _units(http, server.url, admin)
    log(f"attaching {sz.rooms} rooms to {len(units)} units")
    t = time.monotonic()
    names = sorted(units, key=lambda n: int(n[1:]))
    for r in range(sz.rooms):
        unit_id = units[names[r % len(names)]]
        await _post(
            http,
            f"{server.url}{UNITS}/{unit_id}/rooms",
            admin,
            {"name": f"room {r}", "rule": "auto_join"},
        )
    await _jobs_done(http, server.url, admin, list(units.values()))
    out["attach_s"] = round(time.monotonic() - t, 2)

    log(f"{sz.moves} moves")
    small = [n for n in names if n != "g0"]
    for k in range(min(sz.moves, len(small))):
        source = small[k % len(small)]
        target = small[(k + 1) % len(small)]
        uid = groups[source][k // len(small)]
        ldap.move_members(source, target, [uid])
    t = time.monotonic()
    done = await _post(http, server.url + SYNC, admin, {})
    out["moves_sync_s"] = round(time.monotonic() - t, 2)
    out["moved"] = done["done"]["moved"]

    log(f"re-syncing the big unit ({len(groups['g0'])} members) under {sz.watchers} watchers")
    watchers = [p for p in groups[small[0]][: sz.watchers]]
    sessions = [await _login(http, server.url, w, person_password(w)) for w in watchers]
    stop = asyncio.Event()
    latencies: list[float] = []
    polls = [asyncio.create_task(_poll(http, server.url, s, stop, latencies)) for s in sessions]
    await asyncio.sleep(1)
    ldap.move_members("g0", small[-1], groups["g0"], emptying=True)
    t = time.monotonic()
    await _post(http, server.url + SYNC, admin, {})
    await _jobs_done(http, server.url, admin, [units["g0"], units[small[-1]]])
    out["big_unit_resync_s"] = round(time.monotonic() - t, 2)
    stop.set()
    await asyncio.gather(*polls)
    out["sync_requests"] = len(latencies)
    out["sync_p50_ms"] = round(statistics.median(latencies), 1) if latencies else None
    out["sync_max_ms"] = round(max(latencies), 1) if latencies else None
    if len(latencies) >= 100:
        cuts = statistics.quantiles(latencies, n=100)
        out["sync_p95_ms"], out["sync_p99_ms"] = round(cuts[94], 1), round(cuts[98], 1)
        out["sync_over_200ms"] = sum(1 for x in latencies if x > 200)
    return out


async def _poll(
    http: aiohttp.ClientSession, url: str, token: str, stop: asyncio.Event, out: list[float]
) -> None:
    """``/sync?timeout=0`` in a loop: each answer's time is what a client waits."""
    headers = {"Authorization": f"Bearer {token}"}
    since = None
    while not stop.is_set():
        params = {"timeout": "0", **({"since": since} if since else {})}
        t = time.monotonic()
        async with http.get(url + "/_matrix/client/v3/sync", params=params, headers=headers) as r:
            body = await r.json()
        out.append((time.monotonic() - t) * 1000)
        since = body.get("next_batch", since)
        await asyncio.sleep(0.05)


async def _jobs_done(
    http: aiohttp.ClientSession, url: str, token: str, unit_ids: list[str]
) -> None:
    """Until the units' room work (background jobs) is done."""
    pending = list(unit_ids)
    while pending:
        still = []
        for unit_id in pending:
            async with http.get(f"{url}{UNITS}/{unit_id}", headers=_auth(token)) as r:
                if (await r.json()).get("pending_jobs"):
                    still.append(unit_id)
        pending = still
        if pending:
            await asyncio.sleep(0.5)


async def _units(http: aiohttp.ClientSession, url: str, token: str) -> dict[str, str]:
    async with http.get(url + UNITS, headers=_auth(token)) as r:
        body = await r.json()
    found: dict[str, str] = {}

    def walk(nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            found[node["name"]] = node["unit_id"]
            walk(node["children"])

    walk(body["units"])
    return found


async def _login(http: aiohttp.ClientSession, url: str, user: str, password: str) -> str:
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user},
        "password": password,
    }
    async with http.post(url + "/_matrix/client/v3/login", json=body) as r:
        reply = await r.json()
        assert r.status == 200, reply
        return str(reply["access_token"])


async def _post(
    http: aiohttp.ClientSession, url: str, token: str, body: dict[str, Any]
) -> dict[str, Any]:
    timeout = aiohttp.ClientTimeout(total=None)
    async with http.post(url, json=body, headers=_auth(token), timeout=timeout) as r:
        reply: dict[str, Any] = await r.json()
        assert r.status == 200, reply
        return reply


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
