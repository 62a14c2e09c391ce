"""Python's cyclic garbage collector, paced for a server holding thousands of waits.

A full (generation 2) collection walks every container object the process
holds. A worker with 6,000 parked long-polls and the caches serving its users
holds 1.5 million of them, and each full pass stopped every request of that
worker for 0.4 to 1.3 s; with CPython's own trigger (a quarter more long-lived
objects than at the last pass) it ran every ~12 s while phones were woken by
the thousand (the issue 23 soak). Reference counting frees almost everything
anyway; the collector is only for cycles, which can wait.

So while serving:
- What start-up made (modules, the app, compiled queries) is frozen: never
  walked again (``gc.freeze``).
- The collector's automatic trigger is off; a timer does what it would, with
  floors between passes: the youngest generation when over its threshold, the
  middle one at most every second, a full pass at most once a minute (cycles
  among long-lived objects wait that long to be freed).
- Every pass's pause is measured (``revier_gc_pause_seconds`` by generation),
  so a stall seen at the client can be set against it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator

from prometheus_client import Histogram

TICK_S = 0.1
# The least time between two passes over each generation (0: young, 2: all).
MIN_INTERVAL_S = (0.0, 1.0, 60.0)

PAUSES = Histogram(
    "revier_gc_pause_seconds",
    "Time the process stood still for a pass of Python's cyclic garbage collector",
    ["generation"],
    buckets=(0.001, 0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)


class Pacer:
    """Runs the passes CPython would, no more often than ``MIN_INTERVAL_S`` allows."""

    def __init__(self) -> None:
        # When each generation was last passed over (time.monotonic()).
        self.last = [0.0, 0.0, 0.0]

    def due(self, now: float) -> int | None:
        """The oldest generation whose count passed its threshold and whose floor
        has passed; None when nothing is due."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        for generation in (2, 1, 0):
            if (
                counts[generation] > thresholds[generation]
                and now - self.last[generation] >= MIN_INTERVAL_S[generation]
            ):
                return generation
        return None

    def collect(self, generation: int, now: float) -> None:
        started = time.perf_counter()
        gc.collect(generation)
        PAUSES.labels(str(generation)).observe(time.perf_counter() - started)
        # A pass over a generation passes over the younger ones too.
        for younger in range(generation + 1):
            self.last[younger] = now


@contextlib.asynccontextmanager
async def paced_collection() -> AsyncIterator[Pacer]:
    """Freeze what start-up made and pace the collector for the block."""
    gc.collect()
    gc.freeze()
    was_enabled = gc.isenabled()
    gc.disable()
    pacer = Pacer()
    task = asyncio.create_task(_run(pacer), name="gc pacing")
    try:
        yield pacer
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if was_enabled:
            gc.enable()
        gc.unfreeze()


async def _run(pacer: Pacer) -> None:
    while True:
        await asyncio.sleep(TICK_S)
        now = time.monotonic()
        generation = pacer.due(now)
        if generation is not None:
            pacer.collect(generation, now)
