"""Read connections kept open from one snapshot to the next.

Opening a connection through SQLAlchemy for each snapshot (its pool's
checkout and the reset on return, the async adapter's greenlet, a new
``AsyncConnection``) cost about 45 µs on SQLite, where the snapshot itself,
SQLite's own BEGIN and COMMIT, takes about 2 µs. On PostgreSQL the checkout
also pinged the server and set the isolation level: an empty read took 630
µs instead of 330. A woken ``/sync`` takes one snapshot; the checkout was a
tenth of its answer on SQLite, more on PostgreSQL. So a connection is handed
from one snapshot to the next while reads keep coming.

A connection idle for ``KEEP_S`` goes back to the pool, where PostgreSQL's is
pinged before its next use: a server restart costs at most the reads that
reuse a connection within that second, not every read after it. A
connection SQLAlchemy gave up on (invalidated), or that still holds a
transaction, is closed, not kept. The pool's size stays the limit: with
every connection out, a read waits here, first come first served, and is
handed the next connection that comes back (``PoolTimeout`` after the
pool's wait, answered 503, as before).

On SQLite a kept connection must have no statement left unfinished: one
stepped but not read to its end keeps its read snapshot past the COMMIT, and
every later snapshot on the connection would read that old moment.
``Prepared`` and SQLAlchemy's adapter read every statement to its end.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from revier.storage import direct_pg

KEEP_S = 1.0


class ReadConnections:
    def __init__(self, engine: AsyncEngine, *, is_sqlite: bool) -> None:
        self._engine = engine
        self._is_sqlite = is_sqlite
        # The pool's connections (no overflow: storage/engine.py); ``_out`` of
        # them checked out by this object, in use or idle here.
        self._size: int = engine.pool.size()  # type: ignore[attr-defined]
        self._timeout: float = engine.pool.timeout()  # type: ignore[attr-defined]
        self._out = 0
        # (connection, when it came back), the newest on the right
        self._idle: deque[tuple[AsyncConnection, float]] = deque()
        # Reads waiting with every connection out, first come first served: each
        # is handed a connection as one comes back (None: the place of one
        # closed meanwhile, to check one out in). Handed on, not returned to the
        # pool: a checkout pinged PostgreSQL and reset the connection, which
        # under a fan-out to hundreds was most of a woken /sync's read.
        self._waiters: deque[asyncio.Future[AsyncConnection | None]] = deque()
        self._closed = False

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A connection for one snapshot, given back (kept or handed on) after it."""
        conn = await self.take()
        try:
            yield conn
        finally:
            await self.give_back(conn)

    async def take(self) -> AsyncConnection:
        """A connection with no transaction open: a kept one, or one from the pool."""
        now = time.monotonic()
        while self._idle and now - self._idle[0][1] > KEEP_S:
            await self._close(self._idle.popleft()[0])
        if self._idle:
            return self._idle.pop()[0]
        if self._out < self._size:
            self._out += 1  # a place in the pool of its own
        else:
            handed = await self._wait()
            if handed is not None:
                return handed
            # None: the place of a connection closed meanwhile, passed on to it
        try:
            conn = await self._engine.connect()
        except BaseException:
            self._free_place()
            raise
        try:
            await for_snapshots(conn)
        except BaseException:
            await self._close(conn)
            raise
        return conn

    async def give_back(self, conn: AsyncConnection) -> None:
        """Hand ``conn`` to a waiting read or keep it for the next, if it is still
        fit for a snapshot; else return it to the pool."""
        fit = not (conn.closed or conn.invalidated or self._still_open(conn))
        # (The last: a snapshot whose end failed; kept, its next snapshot would
        # read that old moment on.)
        if fit and conn.in_transaction():
            # Begun by SQLAlchemy for a statement, already ended on the driver's
            # connection by the snapshot (storage/direct.py, direct_pg.py), so
            # the ROLLBACK finds nothing to undo and sends nothing.
            try:
                await conn.rollback()
            except BaseException:
                await self._close(conn)
                raise
        if not fit or self._closed:
            await self._close(conn)
        elif not self._hand(conn):
            self._idle.append((conn, time.monotonic()))

    async def close(self) -> None:
        """Return every kept connection to the pool (before it is disposed)."""
        self._closed = True  # one still out closes when it comes back
        while self._idle:
            await self._close(self._idle.popleft()[0])

    async def _wait(self) -> AsyncConnection | None:
        waiting: asyncio.Future[AsyncConnection | None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiting)
        try:
            async with asyncio.timeout(self._timeout):
                return await waiting
        except BaseException as e:
            # Timed out or cancelled: what was handed over meanwhile goes on.
            if waiting.done() and not waiting.cancelled():
                handed = waiting.result()
                if handed is None:
                    self._free_place()
                else:
                    await self.give_back(handed)
            else:
                waiting.cancel()  # skipped by _hand
            if isinstance(e, TimeoutError):
                raise PoolTimeout(f"no read connection came free in {self._timeout} s") from e
            raise

    def _hand(self, conn: AsyncConnection | None) -> bool:
        """Give ``conn`` (None: its place in the pool, for a checkout) to the first
        waiting read."""
        while self._waiters:
            waiting = self._waiters.popleft()
            if not waiting.done():
                waiting.set_result(conn)
                return True
        return False

    async def _close(self, conn: AsyncConnection) -> None:
        try:
            await _close(conn)
        finally:
            self._free_place()

    def _free_place(self) -> None:
        """A connection's place in the pool is free: to the first waiting read,
        still counted (a read arriving meanwhile must not take it, or the waiting
        one would queue in the pool itself, where nothing here hands it one)."""
        if not self._hand(None):
            self._out -= 1

    def _still_open(self, conn: AsyncConnection) -> bool:
        if not self._is_sqlite:
            return direct_pg.still_open(conn)
        sync = conn.sync_connection
        assert sync is not None
        return bool(sync.connection.driver_connection.raw.in_transaction)  # type: ignore[union-attr]


async def for_snapshots(conn: AsyncConnection) -> None:
    """Make a fresh connection ready for snapshots. PostgreSQL: SQLAlchemy begins
    no transaction of its own on it; each snapshot begins one that reads one
    moment (storage/direct_pg.py). SQLite: nothing to do."""
    if conn.dialect.name != "sqlite":
        await conn.execution_options(isolation_level="AUTOCOMMIT")


async def _close(conn: AsyncConnection) -> None:
    """Return ``conn`` to the pool even if the caller is cancelled meanwhile, as
    SQLAlchemy's own ``async with`` does: a close abandoned halfway (PostgreSQL's
    awaits the server) would leave the connection checked out for good."""
    closing = asyncio.ensure_future(conn.close())
    cancelled: asyncio.CancelledError | None = None
    while not closing.done():
        try:
            await asyncio.shield(closing)
        except asyncio.CancelledError as e:
            cancelled = e
    closing.result()
    if cancelled is not None:
        raise cancelled
