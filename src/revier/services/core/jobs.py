"""Long jobs keyed by what they work on (a user being deactivated, a room being
closed), run in tasks of their own.

A caller waits for its job but can't stop it: a client that disconnects
mid-way (or a cancelled request) leaves the job running, since its progress
is committed step by step and the job row says what is left. A job that fails
is logged here even when nobody waits for it any more; its row stays, and the
next start (or the next request) resumes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any, Generic, TypeVar

import structlog

from revier.errors import MatrixError

log = structlog.get_logger(__name__)

T = TypeVar("T")
Job = Callable[[], Coroutine[Any, Any, T]]


class KeyedJobs(Generic[T]):
    def __init__(self, what: str) -> None:
        self._what = what  # for task names and the log
        self._running: dict[str, asyncio.Task[T]] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._running

    async def run(self, key: str, job: Job[T], *, after_running: bool = False) -> T:
        """Run ``job`` for ``key`` and wait for it. With a job for ``key`` under
        way, join that one instead — or, ``after_running``, queue behind it (for
        jobs that re-read their row, whatever the one before did)."""
        previous = self._running.get(key)
        if previous is not None and not after_running:
            return await asyncio.shield(previous)

        async def queued() -> T:
            if previous is not None:
                # Its outcome is its own waiters' business.
                await asyncio.gather(previous, return_exceptions=True)
            return await job()

        task = asyncio.create_task(queued(), name=f"{self._what} {key}")
        self._running[key] = task
        task.add_done_callback(partial(self._finished, key))
        # Shielded: cancelling the waiter leaves the task running (and it stays
        # referenced here until it ends, so it isn't garbage-collected mid-way).
        return await asyncio.shield(task)

    async def stop(self) -> None:
        """Shut-down: cancel what runs; the job rows stay for the next start."""
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _finished(self, key: str, task: asyncio.Task[T]) -> None:
        if self._running.get(key) is task:
            del self._running[key]
        if task.cancelled() or isinstance(error := task.exception(), MatrixError | None):
            return  # a refusal (no such user or room) reaches the caller as an answer
        log.error(f"a {self._what} stopped", key=key, error=repr(error))
