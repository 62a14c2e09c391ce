"""The scenarios, identical for every server: standard client-server API calls only."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import statistics
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from canonicaljson import encode_canonical_json
from nacl.signing import SigningKey

from bench.client import Matrix, Session, connector, gather_limited, timeline
from bench.idle import hold_open
from bench.servers import Server, cpu_seconds
from bench.stats import pct

Metrics = dict[str, Any]


@dataclass
class Sizes:
    runs: int = 3
    senders: int = 20
    messages: int = 200
    receivers: int = 50
    wide_receivers: int = 500
    fanout_messages: int = 30
    fanout_interval: float = 0.05
    idle_users: int = 2000
    init_rooms: int = 100
    init_messages: int = 20
    big_room: int = 1000
    key_devices: int = 200
    key_claimers: int = 100
    ss_rooms: int = 1000
    ss_messages: int = 3
    ss_updates: int = 20
    ss_devices: int = 200
    push_members: int = 200
    push_messages: int = 100
    history_messages: int = 1000

    def localparts(self) -> list[str]:
        """Every account a server needs; the same names on both servers."""
        names = [f"s{i}" for i in range(self.senders)]
        names += [f"f{i}" for i in range(self.receivers + 1)]
        names += [f"fw{i}" for i in range(self.wide_receivers + 1)]
        names += [f"i{i}" for i in range(self.idle_users)]
        names += ["init0", "bowner"] + [f"b{i}" for i in range(self.big_room)]
        names += [f"bn{r}" for r in range(self.runs)]
        names += [f"k{i}" for i in range(self.key_devices + self.key_claimers)]
        # Sliding sync: the account in many rooms, who writes to it, the fan-out room.
        names += ["ss0", "ssx"] + [f"sf{i}" for i in range(self.ss_devices + 1)]
        names += [f"pu{i}" for i in range(self.push_members)]
        return names


async def send_load(
    m: Matrix, senders: list[Session], room_id: str, per_sender: int, server: Server | None = None
) -> Metrics:
    async def one(s: Session) -> list[float]:
        latencies = []
        for j in range(per_sender):
            t = time.perf_counter()
            await m.send(s, room_id, {"msgtype": "m.text", "body": f"bench message {j}"})
            latencies.append(time.perf_counter() - t)
        return latencies

    cpu0 = _costs(server)
    t0 = time.perf_counter()
    per = await asyncio.gather(*(one(s) for s in senders))
    wall = time.perf_counter() - t0
    lat = [x * 1000 for xs in per for x in xs]
    found: Metrics = {
        "msgs_per_s": len(lat) / wall,
        "p50_ms": pct(lat, 50),
        "p95_ms": pct(lat, 95),
        "p99_ms": pct(lat, 99),
    }
    if server:
        # Steadier than throughput on a noisy machine: what each message cost the server.
        cpu, infra = (b - a for a, b in zip(cpu0, _costs(server), strict=True))
        found["cpu_ms_per_msg"] = cpu * 1000 / len(lat)
        if server.infra_pids:
            found["infra_cpu_ms_per_msg"] = infra * 1000 / len(lat)
    return found


def _costs(server: Server | None) -> tuple[float, float]:
    """CPU seconds used so far by the server's processes, and by its PostgreSQL and
    Redis (the workers shape; 0 for SQLite, which runs inside the server)."""
    if server is None:
        return 0.0, 0.0
    return cpu_seconds(server.pids), cpu_seconds(server.infra_pids)


async def send(m: Matrix, server: Server, sz: Sizes, run: int) -> Metrics:
    senders = [server.sessions[f"s{i}"] for i in range(sz.senders)]
    room = await m.create_room(senders[0], f"send {run}")
    await gather_limited(16, [m.join(s, room) for s in senders[1:]])
    return await send_load(m, senders, room, sz.messages, server)


async def fanout(m: Matrix, server: Server, sz: Sizes, run: int) -> Metrics:
    """One sender, ``receivers`` colleagues long-polling /sync: a team's room."""
    return await _fanout(m, server, sz, run, "f", sz.receivers)


async def fanout_wide(m: Matrix, server: Server, sz: Sizes, run: int) -> Metrics:
    """The same with ``wide_receivers`` (500): a station's announcement channel."""
    return await _fanout(m, server, sz, run, "fw", sz.wide_receivers)


async def _fanout(
    m: Matrix, server: Server, sz: Sizes, run: int, prefix: str, count: int
) -> Metrics:
    sender = server.sessions[f"{prefix}0"]
    receivers = [server.sessions[f"{prefix}{i}"] for i in range(1, count + 1)]
    room = await m.create_room(sender, f"fan-out {prefix} {run}")
    await gather_limited(16, [m.join(s, room) for s in receivers])
    first = await gather_limited(16, [m.sync(s) for s in receivers])
    sent: dict[int, float] = {}
    got: list[dict[int, float]] = [{} for _ in receivers]
    done = asyncio.Event()
    answers = [0]  # /sync answers that carried at least one of the messages
    # Room for every message in one response: a receiver that falls behind
    # gets them late (and that shows in the latencies), never a "limited"
    # timeline with a gap this client would have to paginate.
    everything = json.dumps({"room": {"timeline": {"limit": sz.fanout_messages + 10}}})

    async def receive(k: int, s: Session, since: str) -> None:
        while len(got[k]) < sz.fanout_messages and not done.is_set():
            r = await m.sync(s, since, timeout_ms=30_000, filter_json=everything)
            now = time.time()
            carried = 0
            for ev in timeline(r, room):
                seq = ev.get("content", {}).get("bench_seq")
                if isinstance(seq, int):
                    got[k].setdefault(seq, now)
                    carried += 1
            answers[0] += carried > 0
            since = r["next_batch"]

    tasks = [
        asyncio.create_task(receive(k, s, f["next_batch"]))
        for k, (s, f) in enumerate(zip(receivers, first, strict=True))
    ]
    await asyncio.sleep(1.0)  # let every long-poll reach the server
    cpu0 = _costs(server)
    # The receivers live in this process: its CPU says whether the client side,
    # not the server, was the limit (one core here is 1,000 ms per second).
    client0, wall0 = time.process_time(), time.perf_counter()
    for j in range(sz.fanout_messages):
        sent[j] = time.time()
        await m.send(sender, room, {"msgtype": "m.text", "body": f"fan {j}", "bench_seq": j})
        await asyncio.sleep(sz.fanout_interval)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    done.set()
    cpu, infra = (b - a for a, b in zip(cpu0, _costs(server), strict=True))
    client, wall = time.process_time() - client0, time.perf_counter() - wall0
    for t in tasks:
        t.cancel()
    lat = [(g[seq] - sent[seq]) * 1000 for g in got for seq in g if seq in sent]
    expected = len(receivers) * sz.fanout_messages
    return {
        "p50_ms": pct(lat, 50),
        "p99_ms": pct(lat, 99),
        "max_ms": max(lat) if lat else float("nan"),
        # The sends and every /sync they woke, per message delivered.
        "cpu_ms_per_delivery": cpu * 1000 / max(len(lat), 1),
        **(
            {"infra_cpu_ms_per_delivery": infra * 1000 / max(len(lat), 1)}
            if server.infra_pids
            else {}
        ),
        "client_cpu_ms_per_delivery": client * 1000 / max(len(lat), 1),
        # Below 1 when a receiver behind a burst got several messages in one answer.
        "answers_per_delivery": answers[0] / max(len(lat), 1),
        "client_cpu_share": client / wall if wall else float("nan"),
        "delivered": f"{len(lat)}/{expected}",
        "all_delivered": len(lat) == expected,
    }


async def idle_setup(m: Matrix, server: Server, users: list[Session]) -> list[str]:
    """Rooms of 100 idle users each (made once); returns each user's room."""
    rooms: list[str] = []
    for start in range(0, len(users), 100):
        group = users[start : start + 100]
        room = await m.create_room(group[0], f"idle {start}")
        await gather_limited(32, [m.join(s, room) for s in group[1:]])
        rooms += [room] * len(group)
        if len(users) > 2000 and len(rooms) % 1000 == 0:
            server.say(f"joined {len(rooms)}/{len(users)} idle users to their rooms")
    return rooms


async def idle(m: Matrix, server: Server, sz: Sizes, run: int, log: Any = None) -> Metrics:
    users = [server.sessions[f"i{i}"] for i in range(sz.idle_users)]
    if "idle_rooms" not in server.state:
        server.state["idle_rooms"] = await idle_setup(m, server, users)
    rooms: list[str] = server.state["idle_rooms"]
    return await hold_open(m, server, users, rooms, run, log=log)


async def fill_rooms(m: Matrix, user: Session, rooms: int, messages: int, label: str) -> list[str]:
    """``rooms`` rooms made by ``user`` (8 at a time), each with ``messages`` messages;
    their IDs, room k at index k (roughly the oldest activity first)."""

    async def fill(k: int) -> str:
        room = await m.create_room(user, f"{label} {k}")
        for j in range(messages):
            await m.send(user, room, {"msgtype": "m.text", "body": f"{label} {k}/{j}"})
        return room

    made: list[str] = await gather_limited(8, [fill(k) for k in range(rooms)])
    return made


async def initial_sync(m: Matrix, server: Server, sz: Sizes, run: int) -> Metrics:
    user = server.sessions["init0"]
    if "init_rooms" not in server.state:
        server.state["init_rooms"] = await fill_rooms(
            m, user, sz.init_rooms, sz.init_messages, "history"
        )
    # A new device each run, as after a login on a new phone: the reference
    # caches /sync responses per device for two minutes, and answering the
    # same request again from that cache is not what this scenario measures.
    device = await m.login("init0")
    try:
        t = time.perf_counter()
        r = await m.sync(device)
        ms = (time.perf_counter() - t) * 1000
    finally:
        await m.call("POST", "/_matrix/client/v3/logout", device.access_token, body={})
    return {"ms": ms, "rooms": len(r.get("rooms", {}).get("join", {}))}


async def messages(m: Matrix, server: Server, sz: Sizes, run: int) -> Metrics:
    """Scrolling back through a room's whole history: /messages dir=b, 50 a page."""
    user = server.sessions["init0"]
    if "history_room" not in server.state:
        (server.state["history_room"],) = await fill_rooms(
            m, user, 1, sz.history_messages, "scroll"
        )
    room: str = server.state["history_room"]
    params = {"dir": "b", "limit": "50"}
    pages: list[float] = []
    t0 = time.perf_counter()
    while True:
        t = time.perf_counter()
        body = await m.call("GET", f"/_matrix/client/v3/rooms/{room}/messages", user.access_token,
                            params=params)  # fmt: skip
        pages.append((time.perf_counter() - t) * 1000)
        if "end" not in body or not body.get("chunk"):
            break
        params["from"] = body["end"]
    return {
        "page_p50_ms": statistics.median(pages),
        "whole_ms": (time.perf_counter() - t0) * 1000,
        "pages": len(pages),
    }


async def big_room(m: Matrix, server: Server, sz: Sizes, run: int) -> Metrics:
    room = await m.create_room(server.sessions["bowner"], f"big {run}")
    joiners = [server.sessions[f"b{i}"] for i in range(sz.big_room)]
    t0 = time.perf_counter()
    await gather_limited(50, [m.join(s, room) for s in joiners])
    wall = time.perf_counter() - t0
    newcomer = server.sessions[f"bn{run}"]
    t = time.perf_counter()
    await m.join(newcomer, room)
    join_ms = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    await m.sync(newcomer)
    sync_ms = (time.perf_counter() - t) * 1000
    return {
        "joins_per_s": sz.big_room / wall,
        "newcomer_join_ms": join_ms,
        "newcomer_sync_ms": sync_ms,
    }


def _unpadded(raw: bytes) -> str:
    return base64.b64encode(raw).decode().rstrip("=")


def _b64(n: int = 32) -> str:
    return _unpadded(os.urandom(n))


async def keys_supported(m: Matrix, s: Session) -> bool:
    return await m.status("POST", "/_matrix/client/v3/keys/upload", s.access_token, {}) != 404


async def keys(m: Matrix, server: Server, sz: Sizes, run: int) -> Metrics:
    # Fresh devices every run: device keys can be uploaded only once per device.
    uploaders = await gather_limited(16, [m.login(f"k{i}") for i in range(sz.key_devices)])
    claimers = [server.sessions[f"k{sz.key_devices + i}"] for i in range(sz.key_claimers)]
    otks = 20

    def upload_body(s: Session) -> dict[str, Any]:
        # Real Ed25519 self-signatures: servers may (and revier does) check them.
        key = SigningKey.generate()
        ed = _unpadded(bytes(key.verify_key))

        def signed(obj: dict[str, Any]) -> dict[str, Any]:
            sig = _unpadded(key.sign(encode_canonical_json(obj)).signature)
            return {**obj, "signatures": {s.user_id: {f"ed25519:{s.device_id}": sig}}}

        device_keys = {
            "user_id": s.user_id,
            "device_id": s.device_id,
            "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
            "keys": {f"curve25519:{s.device_id}": _b64(), f"ed25519:{s.device_id}": ed},
        }
        return {
            "device_keys": signed(device_keys),
            "one_time_keys": {
                f"signed_curve25519:{run}x{j}": signed({"key": _b64()}) for j in range(otks)
            },
        }

    requests = 0

    async def upload(s: Session) -> None:
        nonlocal requests
        await m.call("POST", "/_matrix/client/v3/keys/upload", s.access_token, upload_body(s))
        requests += 1

    async def claim_and_query(k: int, s: Session) -> None:
        nonlocal requests
        for step in range(2):
            targets = [uploaders[(k * 2 + step * 7 + t) % len(uploaders)] for t in range(4)]
            body = {
                "one_time_keys": {u.user_id: {u.device_id: "signed_curve25519"} for u in targets}
            }
            await m.call("POST", "/_matrix/client/v3/keys/claim", s.access_token, body)
            requests += 1
        query = {"device_keys": {u.user_id: [] for u in uploaders[k % 10 :: 20]}}
        await m.call("POST", "/_matrix/client/v3/keys/query", s.access_token, query)
        requests += 1

    t0 = time.perf_counter()
    await gather_limited(50, [upload(s) for s in uploaders])
    await gather_limited(50, [claim_and_query(k, s) for k, s in enumerate(claimers)])
    wall = time.perf_counter() - t0
    return {"requests_per_s": requests / wall, "requests": requests}


async def push(m: Matrix, server: Server, sz: Sizes, run: int) -> Metrics:
    """A pusher per member of a big room: see bench/push.py (revier only)."""
    from bench import push as push_scenario

    return await push_scenario.push(m, server, sz.push_members, sz.push_messages, run)


async def ceiling_send(url: str, sz: Sizes) -> Metrics:
    async with aiohttp.ClientSession(connector=connector()) as http:
        m = Matrix(url, http)
        senders = [Session(f"@s{i}:localhost", "t") for i in range(sz.senders)]
        return await send_load(m, senders, "!ceiling:localhost", sz.messages)


async def ceiling_idle(server: Server, sz: Sizes, run: int, log: Any = None) -> Metrics:
    """The idle scenario against the bare app: what a parked long-poll costs on this
    HTTP stack alone (uvicorn, uvloop, httptools), the floor under any server's figure."""
    async with aiohttp.ClientSession(connector=connector()) as http:
        m = Matrix(server.url, http)
        users = [Session(f"@i{k}:localhost", f"token-{k}") for k in range(sz.idle_users)]
        rooms = [f"!idle{k // 100}:localhost" for k in range(sz.idle_users)]
        held = await hold_open(m, server, users, rooms, run, log=log)
    return {
        "idle_kib_per_user": held["kib_per_user"],
        "idle_rss_mb": held["rss_mb"],
        "idle_woken": held["woken"],
    }


def median_metrics(runs: list[Metrics]) -> Metrics:
    out: Metrics = {}
    for key in runs[0]:
        values = [r[key] for r in runs if key in r]
        if all(isinstance(v, bool) for v in values):
            out[key] = all(values)
        elif all(isinstance(v, (int, float)) for v in values):
            out[key] = statistics.median(values)
        else:
            out[key] = values[-1]
    return out
