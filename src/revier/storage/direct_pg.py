"""Read snapshots on PostgreSQL, begun, ended and read on asyncpg's connection.

A woken ``/sync`` on PostgreSQL made about six round trips (BEGIN, its
reads, COMMIT), each read through SQLAlchemy's execution: about 25 µs of
Python per statement (the execution context, the adapter's greenlet hop and
its own prepared-statement cache, the result's metadata), of roughly 0.2 ms
of worker CPU per delivery. SQLite's statements run on its own connection
for the same reason (``storage/direct.py``); this is the same for the
snapshots PostgreSQL serves.

A read connection is held by SQLAlchemy in AUTOCOMMIT (``for_snapshots``), so
its adapter never begins a transaction of its own; ``snapshot`` sends
``BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`` and ``COMMIT`` itself,
and a statement run through SQLAlchemy inside the block runs in that
transaction too. ``Prepared`` runs a statement here (asyncpg's own cache of
prepared statements) when the connection is in such a snapshot and nothing
listens to SQLAlchemy's statement events; a list parameter is written out
as SQLAlchemy writes it (``expand``), once per shape. Writes still go
through SQLAlchemy.

Errors come out as SQLAlchemy's ``DBAPIError``; a connection asyncpg found
closed is invalidated, so ``ReadConnections`` does not keep it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncConnection

BEGIN = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
# In the connection's info while a snapshot begun here is open.
_IN_SNAPSHOT = "revier.snapshot"


class _Pick(NamedTuple):
    """Where a ``$n`` value comes from: parameter ``name``, its list's ``item``
    (-1: not a list) and that item's ``part`` (-1: not a tuple)."""

    name: str
    item: int
    part: int


@dataclass(frozen=True)
class Expansion:
    sql: str
    picks: tuple[_Pick, ...]  # one per $n, in order


def expand(compiled: Any, plain: Iterable[str], lists: Mapping[str, tuple[int, int]]) -> Expansion:
    """The SQL SQLAlchemy writes for a statement with lists of these (length,
    width) — the parameters after a list renumbered — and where each of its
    ``$n`` values comes from: asked of SQLAlchemy once, with markers for the
    given parameters (``plain``) and the lists' items."""
    sample: dict[str, Any] = {name: _Pick(name, -1, -1) for name in plain}
    for name, (length, width) in lists.items():
        sample[name] = [
            tuple(_Pick(name, i, j) for j in range(width)) if width else _Pick(name, i, -1)
            for i in range(length)
        ]
    state = compiled.construct_expanded_state(sample)
    picks = []
    for numbered in state.positiontup:
        value = state.parameters[numbered]
        # Not a marker: a value written into the statement, under its own name.
        picks.append(value if isinstance(value, _Pick) else _Pick(numbered, -1, -1))
    return Expansion(state.statement, tuple(picks))


def driver(conn: AsyncConnection) -> Any:
    """asyncpg's connection under ``conn``."""
    sync = conn.sync_connection
    assert sync is not None
    return sync.connection.driver_connection


def in_snapshot(conn: AsyncConnection) -> Any | None:
    """asyncpg's connection under ``conn`` if it is in a snapshot begun here and a
    statement may run on it directly (None: through SQLAlchemy)."""
    sync = conn.sync_connection
    if sync is None or sync.dispatch.before_cursor_execute or not sync.info.get(_IN_SNAPSHOT):
        return None
    return driver(conn)


@asynccontextmanager
async def snapshot(conn: AsyncConnection) -> AsyncIterator[None]:
    """One REPEATABLE READ, READ ONLY transaction on ``conn`` (in AUTOCOMMIT)."""
    raw = driver(conn)
    info = conn.sync_connection.info  # type: ignore[union-attr]
    await _execute(conn, raw, BEGIN)
    info[_IN_SNAPSHOT] = True
    try:
        yield
    except BaseException:
        # The block's error is the one to see; a connection the ROLLBACK failed
        # on is still in its transaction, and ReadConnections closes it.
        if not raw.is_closed():
            with contextlib.suppress(Exception):
                await raw.execute("ROLLBACK")
        raise
    finally:
        info.pop(_IN_SNAPSHOT, None)
    await _execute(conn, raw, "COMMIT")


def still_open(conn: AsyncConnection) -> bool:
    """Whether a snapshot's transaction is still open on ``conn`` (its end failed)
    or asyncpg's connection is gone: not to be kept."""
    raw = driver(conn)
    return bool(raw.is_closed() or raw.is_in_transaction())


async def fetch(conn: AsyncConnection, raw: Any, sql: str, values: Sequence[Any]) -> list[Any]:
    """The rows of one statement run on asyncpg's connection ``raw``."""
    try:
        return list(await raw.fetch(sql, *values))
    except Exception as e:
        raise await _failed(conn, raw, sql, values, e) from e


async def _execute(conn: AsyncConnection, raw: Any, sql: str) -> None:
    try:
        await raw.execute(sql)
    except Exception as e:
        raise await _failed(conn, raw, sql, (), e) from e


async def _failed(
    conn: AsyncConnection, raw: Any, sql: str, values: Sequence[Any], error: Exception
) -> BaseException:
    gone = raw.is_closed()
    if gone:
        await conn.invalidate()
    return exc.DBAPIError.instance(sql, list(values), error, Exception, connection_invalidated=gone)
