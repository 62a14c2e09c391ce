"""Copying SQLite's write-ahead log into the database file, off the event loop.

The writer connection runs on the loop's thread (``sqlite_inline``) with
automatic checkpoints off, since a checkpoint fsyncs the database file and
could hold the loop for tens of milliseconds. This task does them instead,
in a worker thread, on a connection of its own. PASSIVE never waits for
readers or the writer: what it can't copy now, the next round copies.
"""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import structlog

log = structlog.get_logger(__name__)

INTERVAL_SECONDS = 1.0


class Checkpointer:
    def __init__(self, database: str) -> None:
        self._database = database
        self._connection: sqlite3.Connection | None = None
        # One thread: a round and the final close never overlap.
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="wal-checkpoint")

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                await asyncio.sleep(INTERVAL_SECONDS)
                try:
                    await loop.run_in_executor(self._thread, self._checkpoint)
                except sqlite3.Error as e:  # the next round tries again
                    log.warning("a WAL checkpoint failed", error=str(e))
        finally:
            self._thread.submit(self._close)
            self._thread.shutdown(wait=False)

    def _checkpoint(self) -> None:
        if self._connection is None:
            self._connection = sqlite3.connect(self._database)
        self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
