"""SQLite's read connections, kept open between read snapshots.

Opening a connection through SQLAlchemy for each snapshot (its pool's
checkout and the reset on return, the async adapter's greenlet, a new
``AsyncConnection``) cost about 45 µs; SQLite's own BEGIN and COMMIT, which
is all a snapshot needs, about 2 µs. A woken ``/sync`` takes one snapshot,
and that checkout was a tenth of its answer. So the connections the reader
pool opens are checked out once and handed from one snapshot to the next.

A snapshot begins and ends on SQLite's connection (``direct.snapshot``), so a
connection comes back with no transaction open; SQLAlchemy may still believe
in one it began for a statement sent through it, and forgets it here. A
connection SQLAlchemy gave up on (invalidated) is closed, not kept. The pool
stays the limit: with every connection out, the next read waits for one as
before (``PoolTimeout`` after its wait, answered 503).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


class ReadConnections:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._idle: list[AsyncConnection] = []
        self._closed = False

    async def take(self) -> AsyncConnection:
        """A connection with no transaction open: a kept one, or a new one from the pool."""
        if self._idle:
            return self._idle.pop()
        return await self._engine.connect()

    async def give_back(self, conn: AsyncConnection) -> None:
        """Keep ``conn`` for the next snapshot, if it is still fit for one."""
        if self._closed or conn.closed or conn.invalidated or _sqlite_in_transaction(conn):
            # (The last: a snapshot whose end failed; kept, its next snapshot
            # would read that old moment on.)
            await conn.close()
            return
        if conn.in_transaction():
            # Begun by SQLAlchemy for a statement, already ended on SQLite's
            # connection by the snapshot: its ROLLBACK finds nothing to undo.
            await conn.rollback()
        self._idle.append(conn)

    async def close(self) -> None:
        """Return every kept connection to the pool (before it is disposed)."""
        self._closed = True  # one still out closes when it comes back
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.close()


def _sqlite_in_transaction(conn: AsyncConnection) -> bool:
    sync = conn.sync_connection
    assert sync is not None
    return bool(sync.connection.driver_connection.raw.in_transaction)  # type: ignore[union-attr]
