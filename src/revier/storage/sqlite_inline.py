"""SQLite connections run on the event loop's own thread.

aiosqlite sends every statement to a thread of its own and back: a send is a
dozen statements, so a dozen round trips, and after each one the busy event
loop runs other requests before it resumes the transaction — while that
transaction holds SQLite's only write lock, or one of the few reader
connections that fifty woken /syncs queue for. Under load, transactions
spent most of their life waiting for their turn on the loop, not in SQLite.

This shim gives SQLAlchemy's aiosqlite adapter coroutines that call the
``sqlite3`` module directly and never suspend, so a transaction runs from
BEGIN to COMMIT in one go (unless the caller awaits something else in
between). Its statements are indexed lookups and short writes on a WAL
database with ``synchronous=NORMAL``: microseconds each, with no fsync on
commit. The places that could stall the loop are handled here:

- a write lock held by another process (the admin CLI, a second worker):
  SQLite's busy handler would sleep on the loop's thread, so the timeout is
  0 and ``BEGIN`` is retried with ``asyncio.sleep`` instead;
- checkpoints, which copy the WAL into the database file and fsync it:
  automatic checkpoints are off on these connections; ``Checkpointer`` runs
  them in a thread (see ``revier.storage.checkpoint``).

The price: a query that scans much (an unindexed filter) holds every request
up while it runs, so queries on request paths must stay indexed and bounded.
PostgreSQL (asyncpg) is asynchronous already and is not affected.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

# Like the busy_timeout every other connection has: how long BEGIN waits for
# another process's write lock before it gives up with "database is locked".
LOCK_WAIT_SECONDS = 10.0

T = TypeVar("T")


class InlineCursor:
    """The parts of aiosqlite's cursor that SQLAlchemy's adapter uses."""

    def __init__(self, connection: InlineConnection) -> None:
        self._connection = connection
        self._cursor = connection.raw.cursor()

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        if self._connection.raw.in_transaction:
            self._cursor.execute(sql, parameters)
        else:
            # Outside a transaction (BEGIN, or a PRAGMA at connect) "locked"
            # means another process writes: wait for it without blocking.
            await _retry_while_locked(lambda: self._cursor.execute(sql, parameters))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        self._cursor.executemany(sql, parameters)
        return self

    # No fetchone/fetchmany: those are for server-side cursors, which revier
    # doesn't use; the adapter fetches every row after each execute.
    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """The parts of ``aiosqlite.Connection`` that SQLAlchemy's adapter uses."""

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw
        # SQLAlchemy's adapter looks for aiosqlite's attribute of this name
        # before a commit or rollback (None there means "closed").
        self._connection: sqlite3.Connection | None = raw

    @property
    def isolation_level(self) -> str | None:
        return self.raw.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self)

    async def commit(self) -> None:
        self.raw.commit()

    async def rollback(self) -> None:
        self.raw.rollback()

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        self._connection = None
        self.raw.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self.raw.create_function(*args, **kwargs)


async def connect(database: str) -> InlineConnection:
    """Open a connection (SQLAlchemy's ``async_creator``)."""

    def open_() -> sqlite3.Connection:
        # isolation_level=None: transactions are ours (the engine's "begin"
        # listener says BEGIN IMMEDIATE), not the sqlite3 module's. The pool
        # may close the connection from another thread at shut-down.
        raw = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        raw.execute("PRAGMA busy_timeout=0")  # never sleep on the loop's thread
        raw.execute("PRAGMA wal_autocheckpoint=0")  # the Checkpointer's job
        return raw

    return InlineConnection(await _retry_while_locked(open_))


async def _retry_while_locked(attempt: Callable[[], T]) -> T:
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    pause = 0.001
    while True:
        try:
            return attempt()
        except sqlite3.OperationalError as e:
            if e.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.05)
