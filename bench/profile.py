"""Scenarios once more on revier, sampled by py-spy: where does its time go?

Send and fan-out unless ``--only`` names others (any but idle, keys and the ceiling).
"""

from __future__ import annotations

import asyncio
import collections
import re
import signal
import subprocess
from pathlib import Path
from typing import Any

import aiohttp

from bench import scenarios, sliding
from bench.client import connector
from bench.servers import Server
from bench.synapse_env import py_spy

RESULTS = Path(__file__).resolve().parent / "results"
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def _short(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    path = match["file"]
    for marker in ("site-packages/", "src/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{match['func']} ({path})"


def hotspots(raw: Path, top: int = 20) -> dict[str, Any]:
    """Self time per function, inclusive time per revier function, from collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_short(f) for f in stack.split(";")]
        own[frames[-1]] += n
        for f in set(frames):
            if "revier/" in f:
                incl[f] += n
    share = lambda c: [(f, round(100 * n / max(total, 1), 1)) for f, n in c.most_common(top)]  # noqa: E731
    return {"samples": total, "self_percent": share(own), "revier_inclusive_percent": share(incl)}


PROFILED = (
    *("send", "fanout", "initial_sync", "big_room"),
    *("ss_initial", "ss_incremental", "ss_fanout"),
)


async def profile_revier(
    server: Server, sizes: scenarios.Sizes, log: Any, wanted: list[str]
) -> dict[str, Any]:
    spy = py_spy()
    if not spy.exists():
        log("py-spy is not installed (it comes with the reference's venv); no profile")
        return {}
    RESULTS.mkdir(parents=True, exist_ok=True)
    found: dict[str, Any] = {}
    async with aiohttp.ClientSession(connector=connector()) as http:
        m = server.matrix(http)
        for name in [w for w in wanted if w in PROFILED] or ["send", "fanout"]:
            raw = RESULTS / f"profile-{name}.txt"
            proc = subprocess.Popen(  # noqa: ASYNC220  # runs beside the load, not awaited
                [
                    str(spy),
                    "record",
                    "--pid",
                    str(server.pid),
                    "--format",
                    "raw",
                    "-o",
                    str(raw),
                    "--rate",
                    "200",
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            await asyncio.sleep(1.0)
            log(f"profiling {name} on revier (py-spy)")
            module = sliding if name.startswith("ss_") else scenarios
            metrics = await getattr(module, name)(m, server, sizes, 1000)
            proc.send_signal(signal.SIGINT)
            _, err = await asyncio.to_thread(proc.communicate)
            if not raw.exists():
                log(f"  py-spy wrote nothing: {err.decode()[-500:]}")
                continue
            found[name] = {"metrics": metrics, "raw": str(raw), **hotspots(raw)}
            log(f"  {name}: {found[name]['samples']} samples; top self time:")
            for f, p in found[name]["self_percent"][:10]:
                log(f"    {p:5.1f}%  {f}")
    return found
