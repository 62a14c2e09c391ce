"""Many users each holding an open /sync long-poll; then one message wakes them all.

The clients live in worker processes (a few thousand connections each) so that
the client side neither runs out of file descriptors nor of CPU time in one
event loop. The server's RSS (with its children) is read while they all wait.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import resource
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp

from bench.client import (
    BenchError,
    Matrix,
    Session,
    busy,
    connector,
    gather_limited,
    timeline,
)
from bench.infra import pss_bytes
from bench.servers import Server, rss_bytes
from bench.stats import pct

T = TypeVar("T")
PER_WORKER = 5000
# First syncs in flight per client process: each is a big read (the room's
# members); more at once only queue for the server's database connections.
FIRST_SYNCS = 16


def raise_fd_limit() -> int:
    """Soft limit up to the hard one (raising the hard limit needs privileges)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# (access token, room, the URL of the process its /sync goes to)
Item = tuple[str, str, str]


def _worker(items: list[Item], marker: str, q: Any, go: Any) -> None:
    raise_fd_limit()
    try:
        asyncio.run(_hold(items, marker, q, go))
    except Exception as e:
        # Said at once, instead of the parent waiting out its queue's timeout.
        q.put(("failed", f"{e!r}"[:500]))
        raise


async def _hold(items: list[Item], marker: str, q: Any, go: Any) -> None:
    async with aiohttp.ClientSession(connector=connector()) as http:
        # One client per server process: the routing was decided by the parent.
        clients = {url: Matrix(url, http) for _, _, url in items}
        sessions = [Session("", token) for token, _, _ in items]
        ms = [clients[url] for _, _, url in items]
        retries = [0]

        async def first_sync(m: Matrix, s: Session) -> dict[str, Any]:
            # As a client does: a dropped keep-alive connection or an overloaded
            # server's 503 is tried again after a pause (counted and reported).
            return await _retrying(lambda: m.sync(s), busy, retries)

        first = await gather_limited(
            FIRST_SYNCS, [first_sync(m, s) for m, s in zip(ms, sessions, strict=True)]
        )
        q.put(("retried", retries[0]))
        q.put(("synced", len(items)))
        await asyncio.get_running_loop().run_in_executor(None, go.wait)

        # Why a woken long-poll had to be asked again, and when each message arrived.
        asked_again = Counter[str]()
        arrived: list[tuple[str, float]] = []

        async def wait_wake(m: Matrix, s: Session, room: str, since: str) -> bool:
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                try:
                    r = await m.sync(s, since, timeout_ms=280_000)
                except (aiohttp.ClientError, TimeoutError, BenchError) as e:
                    if not busy(e):
                        raise
                    asked_again["busy_503" if isinstance(e, BenchError) else "dropped"] += 1
                    await asyncio.sleep(1)
                    continue
                if any(
                    ev.get("content", {}).get("bench_wake") == marker for ev in timeline(r, room)
                ):
                    arrived.append((room, time.time()))
                    return True
                asked_again["answered_without_it"] += 1
                since = r["next_batch"]
            return False

        tasks = [
            asyncio.create_task(wait_wake(m, s, room, f["next_batch"]))
            for m, s, (_, room, _), f in zip(ms, sessions, items, first, strict=True)
        ]
        await asyncio.sleep(0.5)
        q.put(("opened", len(items)))
        woken = await asyncio.gather(*tasks)
        q.put(("wake_retried", asked_again["busy_503"] + asked_again["dropped"]))
        q.put(("wake_causes", dict(asked_again)))
        q.put(("arrived", arrived))
        q.put(("done", sum(woken)))


async def hold_open(
    m: Matrix, server: Server, users: list[Session], rooms: list[str], run: int, log: Any = None
) -> dict[str, Any]:
    marker = f"wake-{run}-{time.time_ns()}"
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    go = ctx.Event()
    sync = "/_matrix/client/v3/sync"
    items = [
        (s.access_token, room, m.url(sync, s.access_token).removesuffix(sync))
        for s, room in zip(users, rooms, strict=True)
    ]
    chunks = [items[i : i + PER_WORKER] for i in range(0, len(items), PER_WORKER)]
    procs = [ctx.Process(target=_worker, args=(c, marker, q, go)) for c in chunks]
    for p in procs:
        p.start()
    reports = _Reports(asyncio.get_running_loop(), q)
    try:
        await reports.wait("synced", len(items), log)
        retried = await reports.wait("retried", len(procs), count_messages=True)
        # Measured once per server: memory an earlier run freed stays with the
        # process, so a later run's own baseline would hide what it holds.
        baseline = server.state.setdefault("idle_baseline", rss_bytes(server.pids))
        infra_baseline = server.state.setdefault(
            "idle_infra_baseline", pss_bytes(server.infra_pids)
        )
        go.set()
        t_open = time.perf_counter()
        await reports.wait("opened", len(items), log)
        # Requests are on their way: wake no one before the server holds them all
        # (where it says how many it holds), else a long-poll that reached it late
        # (a connection refused by a full accept queue is tried again after 1, 3,
        # 7, 15 s) would count as a late delivery. Then its memory must settle.
        parked = await _all_parked(m.http, server, len(items), log)
        parked_s = time.perf_counter() - t_open
        await asyncio.sleep(2 + len(items) / 2000)
        held = await settled_rss(server.pids)
        per_process = [rss_bytes(pid) / 2**20 for pid in server.pids]
        infra_held = pss_bytes(server.infra_pids)
        if log:  # said before the wake-up, so that a failed wake-up keeps the figure
            log(
                f"  idle: {len(items)} waiting, server RSS {held / 2**20:.0f} MiB, "
                f"{(held - baseline) / 1024 / len(items):.1f} KiB per waiting client"
            )
        t_wake = time.perf_counter()
        owners = {room: s for s, room in zip(users, rooms, strict=True) if room}
        sent: dict[str, tuple[float, float]] = {}  # room: wall clock before and after its send
        send_retries = [0]
        for room in dict.fromkeys(rooms):
            wake = {"msgtype": "m.text", "body": "wake", "bench_wake": marker}
            t_send = time.time()
            # A 503 is tried again; a dropped connection is not: the send may have landed.
            await _retrying(
                lambda: m.send(owners[room], room, wake),  # noqa: B023  # awaited here
                lambda e: isinstance(e, BenchError) and e.status == 503,
                send_retries,
            )
            sent[room] = (t_send, time.time())
        sending_s = time.perf_counter() - t_wake
        woken = await reports.wait("done", len(procs), count_messages=True)
        wake_retried = await reports.wait("wake_retried", len(procs), count_messages=True)
        wake_s = time.perf_counter() - t_wake
        causes = Counter[str]()
        for c in reports.got["wake_causes"]:
            causes.update(c)
        # From the end of a room's send to each member seeing it (the clock is the
        # machine's, shared by the processes).
        lags = [(t - sent[room][1]) * 1000 for got in reports.got["arrived"] for room, t in got]
        send_ms = [(b - a) * 1000 for a, b in sent.values()]
    finally:
        go.set()
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    found: dict[str, Any] = {
        "users": len(items),
        "rss_mb": held / 2**20,
        "baseline_rss_mb": baseline / 2**20,
        "kib_per_user": (held - baseline) / 1024 / len(items),
        "woken": f"{woken}/{len(items)}",
        "all_woken": woken == len(items),
        "wake_all_s": wake_s,
        # First syncs tried again after a dropped connection or a 503 (server busy).
        "first_sync_retries": retried,
        # Woken long-polls tried again after a dropped connection or a 503.
        "wake_retries": wake_retried,
        # ... by cause, and answers that came back without the message.
        "wake_causes": dict(causes),
        # Long-polls the server held before the wake-up (None: it doesn't say), and
        # how long after the clients were told to open them.
        "parked": parked,
        "all_parked_s": parked_s,
        # The wake-up messages, one per room, sent one after another.
        "wake_sends": len(send_ms),
        "wake_sending_s": sending_s,
        "wake_send_p50_ms": pct(send_ms, 50),
        "wake_send_max_ms": max(send_ms, default=0.0),
        "wake_send_retries": send_retries[0],
        # A room's message sent (answered) to a member's /sync returning it.
        "delivery_p50_ms": pct(lags, 50),
        "delivery_p99_ms": pct(lags, 99),
        "delivery_max_ms": max(lags, default=0.0),
    }
    if len(server.pids) > 1:
        found["rss_mb_per_process"] = per_process
        found["users_per_process"] = dict(Counter(url for _, _, url in items))
    if server.infra_pids:
        # PostgreSQL's and Redis's proportional set size (their shared pages counted once).
        found["infra_pss_mb"] = infra_held / 2**20
        found["infra_kib_per_user"] = (infra_held - infra_baseline) / 1024 / len(items)
    return found


async def _all_parked(
    http: aiohttp.ClientSession, server: Server, expected: int, log: Any
) -> int | None:
    """Until the server holds ``expected`` long-polls (at most 120 s); how many it held."""
    deadline = time.monotonic() + 120
    while True:
        held = await server.long_polls_waiting(http)
        if held is None or held >= expected or time.monotonic() > deadline:
            if log and held is not None and held < expected:
                log(f"  idle: only {held}/{expected} long-polls reached the server in 120 s")
            return held
        await asyncio.sleep(0.5)


async def _retrying(
    call: Callable[[], Awaitable[T]], transient: Callable[[BaseException], bool], count: list[int]
) -> T:
    """``call`` until it succeeds, tried again (up to 10 times, pauses growing to 30 s)
    after an error ``transient`` says a client would retry; ``count`` counts the retries."""
    for attempt in range(10):
        try:
            return await call()
        except Exception as e:
            if attempt == 9 or not transient(e):
                raise
            count[0] += 1
            await asyncio.sleep(min(2**attempt, 30))
    raise AssertionError("unreachable")


class _Reports:
    """What the client processes report, by kind; they report independently, so one's
    ``synced`` may come before another's ``retried``."""

    def __init__(self, loop: Any, q: Any) -> None:
        self.loop, self.q = loop, q
        self.got: dict[str, list[Any]] = {}

    async def wait(
        self, kind: str, expected: int, log: Any = None, count_messages: bool = False
    ) -> int:
        """Until ``expected`` (the sum of the numbers, or with ``count_messages`` the
        number of reports) of ``kind`` arrived; their sum."""
        while True:
            got = self.got.get(kind, [])
            if (len(got) if count_messages else sum(got)) >= expected:
                return sum(got)
            what, n = await self.loop.run_in_executor(None, self.q.get, True, 900)
            if what == "failed":
                raise RuntimeError(f"an idle client process failed: {n}")
            self.got.setdefault(what, []).append(n)
            if log and what == kind and not count_messages and expected >= 2000:
                log(f"  idle: {sum(self.got[what])}/{expected} {kind}")


async def settled_rss(pids: list[int]) -> int:
    last = rss_bytes(pids)
    for _ in range(20):
        await asyncio.sleep(1)
        now = rss_bytes(pids)
        if abs(now - last) < 0.01 * last:
            return now
        last = now
    return last
