"""Simplified sliding sync (MSC4186) as Element X's room list speaks it, on every server alike.

The requests are those of matrix-rust-sdk's ``room_list_service`` on its
``room-list`` connection: one list ``all_rooms`` with ``timeline_limit`` 1 and
Element X's ``required_state``, extensions ``account_data``, ``receipts`` and
``typing``. It loads the list as the app does: the window [0, 19], then [0, 99]
and windows grown by 100 (each with ``timeout=0``) until the requested end
reaches ``count - 1``; from then on it long-polls with ``timeout=30000`` over the
whole list.

- ``ss_initial``: a new device of an account in ``ss_rooms`` rooms loads its
  room list: time to the first window, to the whole list, bytes, server CPU.
- ``ss_incremental``: on a loaded connection waiting in its long-poll, another
  user sends one message into one of the rooms: latency from the send to the
  response that holds it, and the server CPU each such update costs.
- ``ss_fanout``: ``ss_devices`` users, each with a loaded room-list connection
  waiting; one message in the room they share: delivery latency to each, server
  CPU per delivery, and the memory each waiting connection holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from bench.client import BenchError, Matrix, Session, gather_limited
from bench.idle import settled_rss
from bench.scenarios import Metrics, Sizes, fill_rooms, pct
from bench.servers import Server, cpu_seconds, rss_bytes

CONN_ID = "room-list"
LIST = "all_rooms"
FIRST_END = 19  # Element X's first window: [0, 19]
BATCH = 100  # then growing windows: [0, 99], [0, 199], …
LONG_POLL_MS = 30_000
# matrix-rust-sdk's DEFAULT_REQUIRED_STATE for the room list (room_list_service/mod.rs),
# with ruma's primary wire names (call member, member hints, beacon info); the
# sliding-sync tests send the same (tests/integration/sliding.py).
REQUIRED_STATE = [
    ["m.room.name", ""],
    ["m.room.encryption", ""],
    ["m.room.member", "$LAZY"],
    ["m.room.member", "$ME"],
    ["m.room.topic", ""],
    ["m.room.avatar", ""],
    ["m.room.canonical_alias", ""],
    ["m.room.power_levels", ""],
    ["org.matrix.msc3401.call.member", "*"],
    ["m.room.join_rules", ""],
    ["m.room.tombstone", ""],
    ["m.room.create", ""],
    ["m.room.history_visibility", ""],
    ["io.element.functional_members", ""],
    ["m.space.parent", "*"],
    ["m.space.child", "*"],
    ["org.matrix.msc3672.beacon_info", "*"],
]


def room_list_request(end: int) -> dict[str, Any]:
    """The body Element X sends on its room-list connection, with the window [0, end]."""
    return {
        "conn_id": CONN_ID,
        "lists": {
            LIST: {
                "ranges": [[0, end]],
                "timeline_limit": 1,
                "required_state": REQUIRED_STATE,
                "filters": {},
            }
        },
        "extensions": {
            "account_data": {"enabled": True},
            "receipts": {"enabled": True, "rooms": ["*"]},
            "typing": {"enabled": True},
        },
    }


def growing_end(fetched: int, count: int) -> int:
    """The end of the next growing window once ``fetched`` rooms are loaded (never below 0:
    an empty list is asked for as [0, 0])."""
    return max(min(fetched + BATCH, count) - 1, 0)


@dataclass
class RoomList:
    """One device's room-list connection: where it stands and what it was told."""

    session: Session
    pos: str = ""
    end: int = FIRST_END
    count: int = 0
    rooms: set[str] = field(default_factory=set)
    polled_bytes: int = 0  # of the long-polls' responses


@dataclass
class Loaded:
    conn: RoomList
    first_ms: float
    total_ms: float
    first_bytes: int
    bytes: int
    requests: int


def _take(conn: RoomList, request: dict[str, Any], response: dict[str, Any]) -> None:
    """Move the connection on to a response; a response without the list's count or a
    ``pos`` is an error worth a loud failure, not a silent number."""
    count = response.get("lists", {}).get(LIST, {}).get("count")
    pos = response.get("pos")
    if not isinstance(count, int) or not isinstance(pos, str):
        raise BenchError(
            f"sliding sync response without lists.{LIST}.count or pos: "
            f"request {str(request)[:200]} -> {str(response)[:300]}"
        )
    conn.count, conn.pos = count, pos
    conn.rooms.update(response.get("rooms", {}))


async def load_room_list(m: Matrix, s: Session) -> Loaded:
    """Element X's first room-list load, from a fresh connection to the whole list."""
    conn = RoomList(s)
    t0 = time.perf_counter()
    request = room_list_request(FIRST_END)
    response, first_bytes = await m.sliding_sync(s, request, None, 0)
    first_ms = (time.perf_counter() - t0) * 1000
    _take(conn, request, response)
    total, requests = first_bytes, 1
    end = growing_end(0, conn.count)
    while True:
        request = room_list_request(end)
        response, size = await m.sliding_sync(s, request, conn.pos, 0)
        _take(conn, request, response)
        total += size
        requests += 1
        conn.end = end
        if end >= conn.count - 1:
            break
        end = growing_end(end + 1, conn.count)
    total_ms = (time.perf_counter() - t0) * 1000
    return Loaded(conn, first_ms, total_ms, first_bytes, total, requests)


def holds(response: dict[str, Any], room_id: str, marker: str) -> bool:
    events = response.get("rooms", {}).get(room_id, {}).get("timeline", [])
    return any(ev.get("content", {}).get("bench_ss") == marker for ev in events)


async def long_poll_until(m: Matrix, conn: RoomList, room_id: str, marker: str) -> float:
    """Long-poll (as a loaded Element X room list does) until a response holds the marked
    event; when it arrived (``time.perf_counter()``)."""
    while True:
        request = room_list_request(conn.end)
        response, size = await m.sliding_sync(
            conn.session, request, conn.pos, LONG_POLL_MS, http_timeout=LONG_POLL_MS / 1000 + 60
        )
        arrived = time.perf_counter()
        conn.polled_bytes += size
        _take(conn, request, response)
        if holds(response, room_id, marker):
            return arrived


async def _ss_rooms(m: Matrix, server: Server, sz: Sizes) -> list[str]:
    """The account's rooms, made once per server."""
    if "ss_rooms" not in server.state:
        server.state["ss_rooms"] = await fill_rooms(
            m, server.sessions["ss0"], sz.ss_rooms, sz.ss_messages, "ss"
        )
    rooms: list[str] = server.state["ss_rooms"]
    return rooms


@contextlib.asynccontextmanager
async def _new_device(m: Matrix, localpart: str) -> AsyncIterator[Session]:
    """A new device for the run, as after a login on a new phone; logged out after."""
    device = await m.login(localpart)
    try:
        yield device
    finally:
        await m.call("POST", "/_matrix/client/v3/logout", device.access_token, body={})


async def ss_initial(m: Matrix, server: Server, sz: Sizes, run: int) -> Metrics:
    rooms = await _ss_rooms(m, server, sz)
    async with _new_device(m, "ss0") as device:
        cpu0 = cpu_seconds(server.pids)
        loaded = await load_room_list(m, device)
        cpu = cpu_seconds(server.pids) - cpu0
    conn = loaded.conn
    return {
        "first_ms": loaded.first_ms,
        "total_ms": loaded.total_ms,
        "first_kib": loaded.first_bytes / 1024,
        "kib": loaded.bytes / 1024,
        "cpu_ms": cpu * 1000,
        "requests": loaded.requests,
        "count": conn.count,
        "rooms_sent": len(conn.rooms),
        "all_loaded": conn.count == len(rooms) and conn.rooms == set(rooms),
    }


async def ss_incremental(m: Matrix, server: Server, sz: Sizes, run: int) -> Metrics:
    rooms = await _ss_rooms(m, server, sz)
    sender = server.sessions["ssx"]
    # Other rooms each run; the oldest first, so that each message moves its room up.
    targets = [rooms[(run * sz.ss_updates + k) % len(rooms)] for k in range(sz.ss_updates)]
    joined: set[str] = server.state.setdefault("ss_sender_rooms", set())
    await gather_limited(8, [m.join(sender, r) for r in dict.fromkeys(targets) if r not in joined])
    joined.update(targets)
    async with _new_device(m, "ss0") as device:
        conn = (await load_room_list(m, device)).conn
        latencies = []
        cpu0 = cpu_seconds(server.pids)
        for k, room in enumerate(targets):
            marker = f"ss-inc-{run}-{k}-{time.time_ns()}"
            waiting = asyncio.create_task(long_poll_until(m, conn, room, marker))
            await asyncio.sleep(0.3)  # the long-poll reaches the server and waits
            t0 = time.perf_counter()
            await m.send(sender, room, {"msgtype": "m.text", "body": "news", "bench_ss": marker})
            arrived = await asyncio.wait_for(waiting, 60)
            latencies.append((arrived - t0) * 1000)
        updates_cpu = cpu_seconds(server.pids) - cpu0
        # The same sends with no connection waiting: what a send costs by itself.
        cpu0 = cpu_seconds(server.pids)
        for room in targets:
            await m.send(sender, room, {"msgtype": "m.text", "body": "quiet"})
        sends_cpu = cpu_seconds(server.pids) - cpu0
    n = len(targets)
    return {
        "p50_ms": pct(latencies, 50),
        "max_ms": max(latencies),
        # The send, the woken response and the next long-poll reaching the server.
        "cpu_ms_per_update": updates_cpu * 1000 / n,
        "send_cpu_ms": sends_cpu * 1000 / n,
        "response_cpu_ms": (updates_cpu - sends_cpu) * 1000 / n,
        # What a phone downloads for one new message in one room.
        "kib_per_update": conn.polled_bytes / 1024 / n,
        "updates": n,
    }


async def ss_fanout(m: Matrix, server: Server, sz: Sizes, run: int) -> Metrics:
    sender = server.sessions["sf0"]
    devices = [server.sessions[f"sf{i}"] for i in range(1, sz.ss_devices + 1)]
    if "ss_fanout_room" not in server.state:
        room = await m.create_room(sender, "ss fan-out")
        await gather_limited(16, [m.join(s, room) for s in devices])
        server.state["ss_fanout_room"] = room
    room = server.state["ss_fanout_room"]
    # Each device starts its connection over (no pos) and loads its list.
    loads: list[Loaded] = await gather_limited(16, [load_room_list(m, s) for s in devices])
    # As idle does for /sync: the server's first baseline, taken with every
    # connection loaded and none waiting.
    baseline = server.state.setdefault("ss_fanout_baseline", rss_bytes(server.pids))
    marker = f"ss-fan-{run}-{time.time_ns()}"
    tasks = [asyncio.create_task(long_poll_until(m, ld.conn, room, marker)) for ld in loads]
    try:
        await asyncio.sleep(1.0 + len(devices) / 500)  # every long-poll reaches the server
        held = await settled_rss(server.pids)
        cpu0 = cpu_seconds(server.pids)
        t0 = time.perf_counter()
        await m.send(sender, room, {"msgtype": "m.text", "body": "fan", "bench_ss": marker})
        await asyncio.wait(tasks, timeout=60)
        cpu = cpu_seconds(server.pids) - cpu0
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    lat = [(t.result() - t0) * 1000 for t in tasks if not t.cancelled() and not t.exception()]
    errors = [repr(t.exception()) for t in tasks if not t.cancelled() and t.exception()]
    found: Metrics = {
        "p50_ms": pct(lat, 50),
        "p99_ms": pct(lat, 99),
        "max_ms": max(lat) if lat else float("nan"),
        "cpu_ms_per_delivery": cpu * 1000 / max(len(lat), 1),
        "delivered": f"{len(lat)}/{len(devices)}",
        "all_delivered": len(lat) == len(devices),
        "rss_mb": held / 2**20,
        "kib_per_connection": (held - baseline) / 1024 / len(devices),
    }
    if errors:
        found["errors"] = f"{len(errors)}: {errors[0][:300]}"
    return found
