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
transaction, is closed, not kept. The pool stays the limit: with every
connection out, the next read waits for one as before (``PoolTimeout``
after its wait, answered 503), and a connection handed back while a read
waits there goes to the pool, not to the next snapshot.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

KEEP_S = 1.0


class ReadConnections:
    def __init__(self, engine: AsyncEngine, *, is_sqlite: bool) -> None:
        self._engine = engine
        self._is_sqlite = is_sqlite
        # (connection, when it came back), the newest on the right
        self._idle: deque[tuple[AsyncConnection, float]] = deque()
        # Reads waiting for the pool: with every connection out, one coming
        # back must go to the pool, or they wait there while it sits here.
        self._waiting = 0
        self._closed = False

    async def take(self) -> AsyncConnection:
        """A connection with no transaction open: a kept one, or one from the pool."""
        now = time.monotonic()
        while self._idle and now - self._idle[0][1] > KEEP_S:
            await _close(self._idle.popleft()[0])
        if self._idle:
            return self._idle.pop()[0]
        self._waiting += 1
        try:
            conn = await self._engine.connect()
        finally:
            self._waiting -= 1
        if not self._is_sqlite:
            # PostgreSQL's default READ COMMITTED would let each query see
            # newer commits; /sync must read one moment. (SQLite in WAL mode
            # gives a snapshot per read transaction already.)
            try:
                await conn.execution_options(isolation_level="REPEATABLE READ")
            except BaseException:
                await _close(conn)
                raise
        return conn

    async def give_back(self, conn: AsyncConnection) -> None:
        """Keep ``conn`` for the next snapshot, if it is still fit for one."""
        fit = not (conn.closed or conn.invalidated or self._open_on_sqlite(conn))
        # (The last: a snapshot whose end failed; kept, its next snapshot would
        # read that old moment on.)
        if fit and conn.in_transaction():
            # SQLite: begun by SQLAlchemy for a statement, already ended on its
            # connection by the snapshot, so the ROLLBACK finds nothing to undo.
            # PostgreSQL: the snapshot's own transaction, ended already.
            try:
                await conn.rollback()
            except BaseException:
                await _close(conn)
                raise
        # Reads waiting for the pool get only what is closed to it.
        if not fit or self._waiting or self._closed:
            await _close(conn)
            return
        self._idle.append((conn, time.monotonic()))

    async def close(self) -> None:
        """Return every kept connection to the pool (before it is disposed)."""
        self._closed = True  # one still out closes when it comes back
        while self._idle:
            await _close(self._idle.popleft()[0])

    def _open_on_sqlite(self, conn: AsyncConnection) -> bool:
        if not self._is_sqlite:
            return False
        sync = conn.sync_connection
        assert sync is not None
        return bool(sync.connection.driver_connection.raw.in_transaction)  # type: ignore[union-attr]


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
