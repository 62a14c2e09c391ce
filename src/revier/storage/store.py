"""The transaction seam between services and repositories."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import cached_property
from typing import Self, TypeVar, cast

import structlog
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from revier.errors import ServerBusy
from revier.storage.checkpoint import Checkpointer
from revier.storage.direct import snapshot
from revier.storage.engine import Engines
from revier.storage.group_commit import GroupCommit
from revier.storage.read_connections import ReadConnections
from revier.storage.streams import StreamChanges, StreamRepository

R = TypeVar("R", bound="Repositories")
log = structlog.get_logger(__name__)


class _BusyLog:
    """Requests refused for want of a database connection: said in the log at most
    every 10 s with the count since, so an overload is seen without a line per request."""

    EVERY_S = 10.0

    def __init__(self) -> None:
        self.count = 0
        self.said_at = -self.EVERY_S

    def refused(self, engine: AsyncEngine) -> ServerBusy:
        self.count += 1
        now = time.monotonic()
        if now - self.said_at >= self.EVERY_S:
            log.warning(
                "requests answered 503: no database connection came free in time",
                refused=self.count,
                pool=engine.pool.status(),
            )
            self.count, self.said_at = 0, now
        return ServerBusy()


class Conflict(Exception):
    """A uniqueness rule was broken (the row exists already); the service decides."""


class Tx:
    """One transaction: its connection, and the repositories wings have asked for on it.

    Only the stream counter is shared by every wing (each change anywhere takes
    the next position). Everything else is reached through a wing's own
    ``Repositories`` (``RoomRepos.of(tx)``), so a service sees only its wing's
    tables; it reaches another wing's data by calling that wing's service with
    this ``tx``, which keeps a write across wings in one transaction.
    """

    def __init__(
        self,
        conn: AsyncConnection,
        *,
        is_sqlite: bool,
        room_versions: dict[str, tuple[str, str]],
        changes: StreamChanges | None = None,
    ) -> None:
        self.conn = conn
        self.is_sqlite = is_sqlite
        # A room's version never changes: remembered for the life of the process.
        self.room_versions = room_versions
        self._repositories: dict[type[Repositories], Repositories] = {}
        # Positions taken and what was written at them (a write transaction's).
        self.changes = StreamChanges() if changes is None else changes

    @cached_property
    def streams(self) -> StreamRepository:
        return StreamRepository(self.conn, self.changes)

    def repositories(self, kind: type[R]) -> R:
        """The wing's repositories on this transaction, built on first use."""
        found = self._repositories.get(kind)
        if found is None:
            found = self._repositories[kind] = kind(self)
        return cast(R, found)


class Repositories:
    """Base of one wing's repositories on a transaction (``storage/<wing>/__init__.py``)."""

    def __init__(self, tx: Tx) -> None:
        # What the repositories need of the transaction, not the Tx itself: it
        # holds this object, and that cycle would keep both (and the connection's
        # wrappers) after the transaction until a pass of the cyclic collector.
        self.conn = tx.conn
        self.changes = tx.changes
        self.is_sqlite = tx.is_sqlite
        self.room_versions = tx.room_versions

    @classmethod
    def of(cls, tx: Tx) -> Self:
        return tx.repositories(cls)


# Told, after each commit that took stream positions, what it changed there
# (the notifier's change log). It must not await or fail.
CommitListener = Callable[[StreamChanges], None]


class Store:
    def __init__(self, engines: Engines) -> None:
        self._engines = engines
        self._busy = _BusyLog()
        self.on_commit: CommitListener | None = None
        # A room's version never changes: remembered for the life of the process.
        self._room_versions: dict[str, tuple[str, str]] = {}
        self._checkpoints: asyncio.Task[None] | None = None
        # SQLite has one writer: concurrent transactions share its commits.
        self._group = GroupCommit(engines.writer) if engines.is_sqlite else None
        # Read connections kept from one snapshot to the next
        # (storage/read_connections.py).
        self._readers = ReadConnections(engines.reader, is_sqlite=engines.is_sqlite)

    def start_checkpoints(self) -> None:
        """SQLite: copy the write-ahead log into the database file in the background."""
        if self._engines.sqlite_file is not None and self._checkpoints is None:
            checkpointer = Checkpointer(self._engines.sqlite_file)
            self._checkpoints = asyncio.create_task(checkpointer.run(), name="wal checkpoints")

    @property
    def is_sqlite(self) -> bool:
        return self._engines.is_sqlite

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """A write transaction: committed when the block ends, rolled back on error."""
        changes = StreamChanges()

        def publish() -> None:
            if changes.positions and self.on_commit is not None:
                self.on_commit(changes)

        try:
            async with self._writer_transaction(publish) as conn:
                tx = Tx(
                    conn,
                    is_sqlite=self._engines.is_sqlite,
                    room_versions=self._room_versions,
                    changes=changes,
                )
                yield tx
        except IntegrityError as e:
            raise Conflict(str(e.orig)) from e
        except PoolTimeout as e:
            raise self._busy.refused(self._engines.writer) from e
        # Committed (a block that raised never gets here): published before the
        # caller wakes anyone, so a woken /sync finds the change in the log —
        # by SQLite's group commit right at the COMMIT, here for PostgreSQL.
        if self._group is None:
            publish()

    def _writer_transaction(
        self, committed: Callable[[], None]
    ) -> AbstractAsyncContextManager[AsyncConnection]:
        if self._group is not None:
            return self._group.transaction(committed)
        return self._engines.writer.begin()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        """A consistent read-only snapshot: every query sees the same committed state."""
        try:
            async with self._readers.connection() as conn, snapshot(conn):
                yield Tx(conn, is_sqlite=self._engines.is_sqlite, room_versions=self._room_versions)
        except PoolTimeout as e:
            # Every pooled connection stayed busy for the pool's timeout: an overload,
            # answered 503 (ServerBusy), not a 500 as if the request had found a bug.
            raise self._busy.refused(self._engines.reader) from e

    @asynccontextmanager
    async def exclusive(self, key: int) -> AsyncIterator[bool]:
        """Whether this process holds the installation-wide lock ``key`` for the block
        (one worker of several does a job, such as sending pushes).

        PostgreSQL: a session advisory lock on a connection kept for the block, so
        it is released when the block ends or the process dies and another worker
        can take over. SQLite: always held, as one process serves an SQLite database.
        """
        if self._engines.is_sqlite:
            yield True
            return
        async with self._engines.writer.connect() as conn:
            lock = text("SELECT pg_try_advisory_lock(:key)")
            held = bool((await conn.execute(lock, {"key": key})).scalar())
            await conn.commit()  # a session lock outlives the transaction
            try:
                yield held
            finally:
                if held:
                    await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    await conn.commit()

    async def ping(self) -> None:
        """One round trip to the database; raises whatever the driver raises."""
        async with self.read() as tx:
            await tx.conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        if self._group is not None:
            await self._group.drain()
        await self._readers.close()
        if self._checkpoints is not None:
            self._checkpoints.cancel()
            await asyncio.gather(self._checkpoints, return_exceptions=True)
        await self._engines.dispose()
