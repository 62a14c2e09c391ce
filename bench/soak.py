"""``python -m bench soak``: very many idle /sync long-polls on revier, each woken by a message.

In the workers shape the clients are spread over the workers (each user sticks
to one), so 25,000 fit on a machine where one process may hold at most 20,000
file descriptors: each worker holds its share, under that limit.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from bench import report, scenarios
from bench.client import connector
from bench.idle import raise_fd_limit
from bench.servers import Revier

RESULTS = Path(__file__).resolve().parent / "results"
# Per server process beside its clients' sockets: database, Redis, logs, a margin.
FD_MARGIN = 1000


def connections_that_fit(wanted: int, processes: int, hard: int) -> int:
    """At most ``wanted``; fewer if one process's share would pass the fd limit."""
    return min(wanted, (hard - FD_MARGIN) * processes)


async def soak(args: argparse.Namespace, log: Callable[[str], None]) -> int:
    hard = raise_fd_limit()
    workers = args.workers if args.shape == "workers" else 0
    users = connections_that_fit(args.users, max(workers, 1), hard)
    if users < args.users:
        log(
            f"fd hard limit is {hard} per process and cannot be raised without privileges: "
            f"soaking with {users} connections instead of {args.users}"
        )
    sizes = scenarios.Sizes(
        runs=1,
        senders=1,
        receivers=0,
        idle_users=users,
        big_room=0,
        key_devices=0,
        key_claimers=0,
        ss_devices=0,
    )
    work = Path(tempfile.mkdtemp(prefix="revier-soak-"))
    server = Revier("revier", work / "revier", workers=workers, progress=log)
    server.workdir.mkdir(parents=True)
    log(f"starting revier: {server.shape}")
    server.start()
    try:
        names = sizes.localparts()
        log(f"creating and logging in {len(names)} users")
        t0 = time.monotonic()
        await server.create_users(names)
        setup_s = time.monotonic() - t0
        async with aiohttp.ClientSession(connector=connector()) as http:
            log(f"joining rooms of 100 ({-(-users // 100)} rooms)")
            metrics: dict[str, Any] = await scenarios.idle(
                server.matrix(http), server, sizes, 0, log=log
            )
        metrics["users_setup_s"] = setup_s
    finally:
        server.stop()
    print(json.dumps(metrics, indent=1))
    out = args.json or RESULTS / time.strftime("soak-%Y%m%d-%H%M%S.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "machine": report.machine(),
                "shape": server.shape,
                "workers": workers,
                "requested": args.users,
                "fd_hard_limit": hard,
                "revier": server.version,
                "idle": metrics,
            },
            indent=1,
        )
    )
    print(f"results: {out}")
    return 0 if metrics["all_woken"] else 1
