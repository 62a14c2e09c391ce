"""Engines for the two databases, and migrations to the newest schema.

SQLite (the embedded default) gets WAL mode and a single writer connection:
SQLite allows one writer at a time anyway, and queueing writers on our own
pool is cheaper and fairer than letting them collide on ``SQLITE_BUSY``.
Its connections, the writer's and the readers', run on the event loop's
thread (see ``sqlite_inline``).
Writers start with ``BEGIN IMMEDIATE`` so that a transaction never fails
half-way when it upgrades from reading to writing. Readers use their own
pool and, thanks to WAL, never wait for the writer.
PostgreSQL uses one pool for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from revier import __version__
from revier.config import StartupRefused
from revier.storage import sqlite_inline

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class Engines:
    writer: AsyncEngine
    reader: AsyncEngine
    is_sqlite: bool
    # The database file, for SQLite's checkpoints (None: PostgreSQL or in memory).
    sqlite_file: str | None = None

    async def dispose(self) -> None:
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


def is_sqlite_url(url: str) -> bool:
    return make_url(url).drivername.startswith("sqlite")


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL or in memory."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


# How long a request waits for a pooled connection before it is answered 503
# (ServerBusy). Long: 25,000 long-polls woken by one message each (the issue 23
# soak, two workers) queue some 12,500 reads per worker behind the pool, and
# with the pool's default 30 s the last of them — and a send behind them — got
# 503 instead of their answer a little later; a client that waits is served,
# one that is refused comes back and adds to the queue.
POOL_WAIT_S = 120

# PostgreSQL connections per process: reads and writes have pools of their own,
# so a message's send finds a connection while thousands of woken /syncs queue
# for the readers. Fixed sizes, no overflow: a connection opened under load is
# kept, not opened and closed per request (asyncpg's connect, TLS negotiation
# included, took a tenth of a worker's time in the 12,000-client soak).
PG_READERS = 20
PG_WRITERS = 8


def create_engines(url: str) -> Engines:
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        async_url = parsed.set(drivername="sqlite+aiosqlite")
        writer = create_async_engine(
            async_url,
            pool_size=1,
            max_overflow=0,
            pool_timeout=60,
            async_creator=partial(sqlite_inline.connect, database),
        )
        reader = create_async_engine(
            async_url,
            # Kept once opened (no overflow opened and closed under load).
            pool_size=8,
            max_overflow=0,
            pool_timeout=POOL_WAIT_S,
            async_creator=partial(sqlite_inline.connect, database),
        )
        _sqlite_pragmas(writer, begin="BEGIN IMMEDIATE")
        _sqlite_pragmas(reader, begin="BEGIN")
        in_file = bool(database) and database != ":memory:"
        return Engines(writer, reader, is_sqlite=True, sqlite_file=database if in_file else None)
    async_url = parsed.set(drivername="postgresql+asyncpg")

    def pool(size: int) -> AsyncEngine:
        return create_async_engine(
            async_url, pool_size=size, max_overflow=0, pool_timeout=POOL_WAIT_S, pool_pre_ping=True
        )

    return Engines(pool(PG_WRITERS), pool(PG_READERS), is_sqlite=False)


def _sqlite_pragmas(engine: AsyncEngine, *, begin: str) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # sqlite_inline.connect leaves transactions to "begin" below, and sets
        # how locks are waited for.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A read snapshot may have begun on SQLite's connection itself
        # (``direct.snapshot``): SQLAlchemy's transaction then joins it.
        if not conn.connection.driver_connection.raw.in_transaction:  # type: ignore[union-attr]
            conn.exec_driver_sql(begin)


async def migrate(engines: Engines) -> None:
    """Bring the schema to the newest migration (idempotent). Refuses a database
    that a newer revier has migrated past what this one knows."""
    async with engines.writer.begin() as conn:
        if not engines.is_sqlite:
            # Several workers may start at once: one migrates, the others wait.
            await conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7472626576)")
        await conn.run_sync(_upgrade)


async def schema_revisions(engines: Engines) -> tuple[str, ...]:
    """The migrations the database is at; empty for a database revier never set up."""
    async with engines.reader.connect() as conn:
        return await conn.run_sync(_current)


def _current(connection: Connection) -> tuple[str, ...]:
    return tuple(MigrationContext.configure(connection).get_current_heads())


def _config(connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection) -> None:
    cfg = _config(connection)
    scripts = ScriptDirectory.from_config(cfg)
    known = {script.revision for script in scripts.walk_revisions()}
    for revision in _current(connection):
        if revision not in known:
            raise _newer(revision, scripts.get_current_head())
    command.upgrade(cfg, "head")


def _newer(revision: str, head: str | None) -> StartupRefused:
    return StartupRefused(
        f"the database is at schema {revision!r}, which revier {__version__} (newest schema "
        f"{head!r}) does not know: a newer revier has upgraded it. Run that release (or a newer "
        "one); going back means restoring the backup taken before the upgrade"
    )
