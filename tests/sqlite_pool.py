"""An SQLite engine of one pooled connection, as revier opens them (inline on the
loop), for tests of what happens when a read finds the pool empty."""

from __future__ import annotations

from functools import partial

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from revier.storage import sqlite_inline


def one_connection_engine(database: str, *, pool_timeout: float) -> AsyncEngine:
    return create_async_engine(
        "sqlite+aiosqlite:///" + database,
        pool_size=1,
        max_overflow=0,
        pool_timeout=pool_timeout,
        async_creator=partial(sqlite_inline.connect, database),
    )
