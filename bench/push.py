"""The push scenario: a room of 200 members with a pusher each, 100 messages.

The same messages are sent twice, first with no pushers, then with one
pusher per member pointing at a push gateway on loopback (``push_gateway``,
in this process). Reported: send throughput and the server's CPU per message
both ways (with pushers the CPU runs until the last push has arrived, so it
includes sending them), push delivery p50/p99 from the send request to the
gateway receiving the push, and gateway requests per pusher per message. Each
member reads everything between the two halves, as phones do, so the second
half does not start with 200 unread messages per member.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from bench.client import Matrix, Session, gather_limited
from bench.push_gateway import PushGateway
from bench.servers import Server, cpu_seconds
from bench.stats import pct

Metrics = dict[str, Any]
SENDERS = 20


def localparts(members: int) -> list[str]:
    return [f"pu{i}" for i in range(members)]


async def push(m: Matrix, server: Server, members: int, messages: int, run: int) -> Metrics:
    port = getattr(server, "push_port", None)
    if port is None:
        raise RuntimeError("this server was not started with a push gateway allowed")
    people = [server.sessions[lp] for lp in localparts(members)]
    room = server.state.get("push_room")
    if room is None:
        room = await m.create_room(people[0], "push")
        await gather_limited(16, [m.join(s, room) for s in people[1:]])
        server.state["push_room"] = room
    gateway = await PushGateway().start(port)
    try:
        off = await _send(m, server, people[:SENDERS], room, messages, run, "off")
        await _read_all(m, people, room)
        keys = await _set_pushers(m, people, gateway, run)
        received0 = len(gateway.received)
        cpu0 = cpu_seconds(server.pids)
        sent, on = await _send_timed(m, people[:SENDERS], room, messages, run)
        expected = len(sent) * (members - 1)  # a sender gets no push for their own message
        with contextlib.suppress(TimeoutError):  # then "delivered" says how many came
            await gateway.wait_for(received0 + expected, timeout_s=300)
        cpu = cpu_seconds(server.pids) - cpu0
        pushes = gateway.received[received0:]
        latency = [
            (a.at - sent[a.notification["event_id"]]) * 1000
            for a in pushes
            if a.notification.get("event_id") in sent
        ]
        requests = len(gateway.attempts) - received0
        await _remove_pushers(m, people, keys)
        await _read_all(m, people, room)
    finally:
        await gateway.stop()
    return {
        "off_msgs_per_s": off["msgs_per_s"],
        "off_cpu_ms_per_msg": off["cpu_ms_per_msg"],
        "on_msgs_per_s": on,
        "on_cpu_ms_per_msg": cpu * 1000 / len(sent),
        "delivery_p50_ms": pct(latency, 50),
        "delivery_p99_ms": pct(latency, 99),
        "requests_per_pusher_msg": requests / max(expected, 1),
        "delivered": f"{len(latency)}/{expected}",
        "all_delivered": len(latency) == expected,
    }


async def _send(
    m: Matrix, server: Server, senders: list[Session], room: str, messages: int, run: int, tag: str
) -> Metrics:
    cpu0 = cpu_seconds(server.pids)
    _, rate = await _send_timed(m, senders, room, messages, run, tag)
    return {
        "msgs_per_s": rate,
        "cpu_ms_per_msg": (cpu_seconds(server.pids) - cpu0) * 1000 / messages,
    }


async def _send_timed(
    m: Matrix, senders: list[Session], room: str, messages: int, run: int, tag: str = "on"
) -> tuple[dict[str, float], float]:
    """Send ``messages`` from the senders at once; each event's send time, and msgs/s."""
    sent: dict[str, float] = {}
    per_sender = max(1, messages // len(senders))

    async def one(s: Session) -> None:
        for j in range(per_sender):
            t = time.time()
            body = {"msgtype": "m.text", "body": f"push bench {run}/{tag}/{j}"}
            sent[await m.send(s, room, body)] = t

    t0 = time.perf_counter()
    await asyncio.gather(*(one(s) for s in senders))
    return sent, len(sent) / (time.perf_counter() - t0)


async def _read_all(m: Matrix, people: list[Session], room: str) -> None:
    """Every member marks the room read (a receipt at its newest event)."""
    newest = await m.send(people[0], room, {"msgtype": "m.notice", "body": "read up to here"})

    async def read(s: Session) -> None:
        path = f"/_matrix/client/v3/rooms/{room}/receipt/m.read/{newest}"
        await m.call("POST", path, s.access_token, {})

    await gather_limited(32, [read(s) for s in people])


async def _set_pushers(
    m: Matrix, people: list[Session], gateway: PushGateway, run: int
) -> list[str]:
    keys = [f"bench-{run}-{i}" for i in range(len(people))]

    async def one(s: Session, key: str) -> None:
        body = {
            "kind": "http",
            "app_id": "org.revier.bench",
            "pushkey": key,
            "app_display_name": "bench",
            "device_display_name": "bench",
            "lang": "en",
            "data": {"url": gateway.url, "format": "event_id_only"},
        }
        await m.call("POST", "/_matrix/client/v3/pushers/set", s.access_token, body)

    await gather_limited(32, [one(s, k) for s, k in zip(people, keys, strict=True)])
    return keys


async def _remove_pushers(m: Matrix, people: list[Session], keys: list[str]) -> None:
    async def one(s: Session, key: str) -> None:
        body = {"kind": None, "app_id": "org.revier.bench", "pushkey": key}
        await m.call("POST", "/_matrix/client/v3/pushers/set", s.access_token, body)

    await gather_limited(32, [one(s, k) for s, k in zip(people, keys, strict=True)])
