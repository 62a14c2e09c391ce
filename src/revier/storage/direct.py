"""Statements on the hot paths, run on SQLite's own connection.

SQLAlchemy's execution of a prebuilt statement costs about 25 µs of Python
(the execution context, the async adapter's greenlet hop, the result's
metadata); SQLite runs a typical statement of a send or a woken ``/sync`` in
1 to 20 µs. A send ran ten statements and a savepoint through it: 0.56 of its
1.35 ms of CPU went once they ran here (``docs/benchmarks.md``).

``Prepared`` wraps one module-level statement: on SQLite it is compiled once
per set of parameter names, and each run is one ``sqlite3`` ``execute`` inside
the transaction SQLAlchemy opened on the same connection, with the type
conversions SQLAlchemy would have made (a ``Boolean`` column comes back a
``bool``). A list parameter (``bindparam(..., expanding=True)``) is written
out as SQLAlchemy writes it for SQLite, ``?, ?, ?`` or, for tuples,
``VALUES (?, ?), (?, ?)``; an empty list goes through SQLAlchemy, which
writes an always-false test instead. Anything else it can't run as
SQLAlchemy would (a column default computed in Python, a list whose values
need converting) is refused when the statement is first compiled.

On PostgreSQL a read in a snapshot runs on asyncpg's connection the same way
(``storage/direct_pg.py``), its lists written out as SQLAlchemy writes them
for asyncpg; a write goes through SQLAlchemy there. Outside a transaction,
or while something listens to SQLAlchemy's statement events
(``bench/statements.py``), a statement runs through SQLAlchemy as before.
Errors are SQLAlchemy's (``IntegrityError`` for a duplicate), so callers
handle one kind.
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement, Executable

from revier.storage import direct_pg

Params = Mapping[str, Any]
_Convert = Callable[[Any], Any] | None


class Rows:
    """A statement's rows, fetched: the part of SQLAlchemy's ``Result`` revier uses."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def all(self) -> list[Any]:
        return self._rows

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def one(self) -> Any:
        if len(self._rows) != 1:
            raise exc.NoResultFound if not self._rows else exc.MultipleResultsFound
        return self._rows[0]

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalar_one_or_none(self) -> Any:
        return self.one()[0] if self._rows else None

    def scalars(self) -> list[Any]:
        return [row[0] for row in self._rows]


_GIVEN = object()  # a parameter's value comes with each run


# Lists written out, per statement: enough for the lengths in use at once.
_MAX_EXPANSIONS = 256


@dataclass(frozen=True)
class _Compiled:
    dialect: str
    sql: str
    names: tuple[str, ...]  # the parameters, in the order of the SQL's "?"
    fixed: tuple[Any, ...]  # the value written into the statement, or _GIVEN
    binds: tuple[_Convert, ...]
    row: Callable[..., Any] | None  # None: the statement returns no rows
    results: tuple[_Convert, ...] | None  # None: no column needs converting
    lists: frozenset[str]  # the expanding parameters
    # (length, width) of each list -> the SQL with them written out (SQLite),
    # or what SQLAlchemy wrote out for PostgreSQL (direct_pg.Expansion)
    expanded: dict[tuple[tuple[int, int], ...], Any]
    source: Any  # SQLAlchemy's compiled statement

    def values(self, given: Params) -> tuple[str, list[Any]] | None:
        """The SQL and its values for ``given``; None for an empty list."""
        if self.lists and self.dialect == "postgresql":
            return self._numbered(given)
        values: list[Any] = []
        shape: list[tuple[int, int]] = []
        for index, name in enumerate(self.names):
            value = self._given(index, given)
            if name in self.lists:
                if not value:
                    return None
                width = len(value[0]) if isinstance(value[0], tuple) else 0
                shape.append((len(value), width))
                if width:
                    values.extend(v for item in value for v in item)
                else:
                    values.extend(value)
                continue
            values.append(self._converted(index, value))
        return (self._expand(tuple(shape)) if shape else self.sql), values

    def _given(self, index: int, given: Params) -> Any:
        """Parameter ``index``'s value: written into the statement, or given."""
        value = self.fixed[index]
        return given[self.names[index]] if value is _GIVEN else value

    def _converted(self, index: int, value: Any) -> Any:
        convert = self.binds[index]
        return value if convert is None else convert(value)

    def _numbered(self, given: Params) -> tuple[str, list[Any]] | None:
        """PostgreSQL's ``$n`` with lists: the SQL as SQLAlchemy writes it out for
        lists of these lengths, worked out once per shape."""
        lists: dict[str, Any] = {}
        shape: list[tuple[int, int]] = []
        for index, name in enumerate(self.names):
            if name in self.lists:
                value = self._given(index, given)
                if not value:
                    return None
                lists[name] = value
                shape.append((len(value), len(value[0]) if isinstance(value[0], tuple) else 0))
        key = tuple(shape)
        expansion = self.expanded.get(key)
        if expansion is None:
            if len(self.expanded) >= _MAX_EXPANSIONS:
                self.expanded.clear()
            plain = [name for name in given if name not in self.lists]
            expansion = direct_pg.expand(self.source, plain, dict(zip(lists, key, strict=True)))
            self.expanded[key] = expansion
        values: list[Any] = []
        for name, item, part in expansion.picks:
            if item >= 0:  # an item of a list (lists need no converting)
                value = lists[name][item]
                values.append(value if part < 0 else value[part])
                continue
            index = self.names.index(name)
            values.append(self._converted(index, self._given(index, given)))
        return expansion.sql, values

    def _expand(self, shape: tuple[tuple[int, int], ...]) -> str:
        sql = self.expanded.get(shape)
        if sql is None:
            if len(self.expanded) >= _MAX_EXPANSIONS:
                self.expanded.clear()
            sql = self.sql
            lists = [name for name in self.names if name in self.lists]
            for name, (length, width) in zip(lists, shape, strict=True):
                if width:
                    group = "(" + ", ".join("?" * width) + ")"
                    written = "VALUES " + ", ".join([group] * length)
                else:
                    written = ", ".join("?" * length)
                sql = sql.replace(f"__[POSTCOMPILE_{name}]", written)
            sql = self.expanded[shape] = sql
        return sql


class Prepared:
    """One statement, compiled once and run without SQLAlchemy's execution."""

    def __init__(self, statement: Executable) -> None:
        assert isinstance(statement, ClauseElement)
        self.statement = statement
        # Per set of parameter names (an INSERT's columns are the ones given).
        self._compiled: dict[tuple[str, ...], _Compiled] = {}

    async def rows(self, conn: AsyncConnection, params: Params | None = None) -> Rows:
        """Run it with ``params``; its rows (none for a statement without any)."""
        raw = sqlite_connection(conn)
        if raw is None:
            pg = direct_pg.in_snapshot(conn)
            if pg is None:
                return await self._through_sqlalchemy(conn, params)
            return await self._on_asyncpg(conn, pg, params)
        given = params or {}
        compiled = self._compile(conn.dialect, tuple(given))
        run = compiled.values(given)
        if run is None:  # an empty list: SQLAlchemy writes the always-false test
            return await self._through_sqlalchemy(conn, params)
        cursor = _run(raw, *run)
        if compiled.row is None:
            return Rows([], cursor.rowcount)
        return Rows([_row(compiled, values) for values in cursor.fetchall()], cursor.rowcount)

    async def many(self, conn: AsyncConnection, params: Sequence[Params]) -> None:
        """Run it once per mapping of ``params`` (all with the same names)."""
        if not params:  # SQLAlchemy would run it once, with no values
            return
        raw = sqlite_connection(conn)
        if raw is None:
            await conn.execute(self.statement, list(params))
            return
        compiled = self._compile(conn.dialect, tuple(params[0]))
        if compiled.lists:
            raise TypeError(f"a list parameter in an executemany: {compiled.sql}")
        values = [compiled.values(given)[1] for given in params]  # type: ignore[index]  # no lists
        try:
            raw.executemany(compiled.sql, values)
        except sqlite3.Error as e:
            raise exc.DBAPIError.instance(compiled.sql, values, e, sqlite3.Error) from e

    async def _on_asyncpg(self, conn: AsyncConnection, raw: Any, params: Params | None) -> Rows:
        """A read in a PostgreSQL snapshot (``storage/direct_pg.py``). A statement
        without rows (a write) goes through SQLAlchemy."""
        given = params or {}
        compiled = self._compile(conn.dialect, tuple(given))
        run = compiled.values(given)
        if compiled.row is None or run is None:  # a write, or an empty list
            return await self._through_sqlalchemy(conn, params)
        sql, values = run
        rows = [_row(compiled, tuple(r)) for r in await direct_pg.fetch(conn, raw, sql, values)]
        return Rows(rows, len(rows))

    async def _through_sqlalchemy(self, conn: AsyncConnection, params: Params | None) -> Rows:
        result = await conn.execute(self.statement, params)
        return Rows(list(result) if result.returns_rows else [], result.rowcount)

    def _compile(self, dialect: Dialect, keys: tuple[str, ...]) -> _Compiled:
        found = self._compiled.get(keys)
        if found is None or found.dialect != dialect.name:  # (tests run both engines)
            found = self._compiled[keys] = _compile(self.statement, dialect, keys)
        return found


def sqlite_connection(
    conn: AsyncConnection, *, in_transaction: bool = True
) -> sqlite3.Connection | None:
    """SQLite's connection under ``conn`` if a statement may run on it directly."""
    sync = conn.sync_connection
    if sync is None or sync.dialect.name != "sqlite" or sync.dispatch.before_cursor_execute:
        return None
    raw: sqlite3.Connection = sync.connection.driver_connection.raw  # type: ignore[union-attr]
    # Outside a transaction SQLAlchemy's adapter waits out another process's lock.
    return raw if raw.in_transaction == in_transaction else None


@asynccontextmanager
async def snapshot(conn: AsyncConnection) -> AsyncIterator[None]:
    """A read transaction on ``conn``: on SQLite begun and ended on its connection
    itself (SQLAlchemy's begin and commit were a tenth of a woken ``/sync``).

    A statement run through SQLAlchemy inside joins it: the engine's ``begin``
    listener (``storage/engine.py``) sends no BEGIN while one is open.
    """
    if conn.dialect.name == "postgresql":
        async with direct_pg.snapshot(conn):
            yield
        return
    raw = sqlite_connection(conn, in_transaction=False)
    if raw is None:
        async with conn.begin():
            yield
        return
    async with _block(raw, "BEGIN", "COMMIT", "ROLLBACK"):
        yield


@asynccontextmanager
async def savepoint(conn: AsyncConnection) -> AsyncIterator[None]:
    """A savepoint in ``conn``'s open transaction (a group-commit block): on SQLite
    set on its connection itself (SQLAlchemy's ``begin_nested`` and its release
    cost about 0.2 ms of a send's CPU: 0.99 → 0.78 ms per message)."""
    raw = sqlite_connection(conn)
    if raw is None:
        async with conn.begin_nested():
            yield
        return
    async with _block(
        raw, "SAVEPOINT block", "RELEASE block", "ROLLBACK TO block", "RELEASE block"
    ):
        yield


@asynccontextmanager
async def _block(raw: sqlite3.Connection, begin: str, end: str, *undo: str) -> AsyncIterator[None]:
    """``begin``; then ``end`` when the block returns, ``undo`` when it raises."""
    raw.execute(begin)
    try:
        yield
    except BaseException:
        for statement in undo:
            raw.execute(statement)
        raise
    raw.execute(end)


def _compile(statement: ClauseElement, dialect: Dialect, keys: tuple[str, ...]) -> _Compiled:
    compiled: Any = statement.compile(dialect=dialect, column_keys=list(keys) or None)
    if compiled.positiontup is None or compiled.literal_execute_params:
        raise TypeError(f"not a plain positional statement: {compiled.string}")
    if getattr(compiled, "insert_prefetch", None) or getattr(compiled, "update_prefetch", None):
        raise TypeError(f"a column default is computed in Python: {compiled.string}")
    fixed, binds, lists = [], [], set()
    for name in compiled.positiontup:
        bind = compiled.binds[name]
        if bind.callable is not None:
            raise TypeError(f"parameter {name!r} is computed: {compiled.string}")
        fixed.append(_GIVEN if name in keys or bind.value is None else bind.value)
        convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if bind.expanding:
            if convert is not None or f"__[POSTCOMPILE_{name}]" not in compiled.string:
                raise TypeError(f"list {name!r} can't be written out: {compiled.string}")
            lists.add(name)
        binds.append(convert)
    columns = list(getattr(statement, "exported_columns", ()))
    row = namedtuple("Row", [c.key for c in columns], rename=True) if columns else None
    results = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
    return _Compiled(
        dialect.name,
        compiled.string,
        tuple(compiled.positiontup),
        tuple(fixed),
        tuple(binds),
        row,
        tuple(results) if any(results) else None,
        frozenset(lists),
        {},
        compiled,
    )


def _row(compiled: _Compiled, values: tuple[Any, ...]) -> Any:
    assert compiled.row is not None
    if compiled.results is not None:
        values = tuple(f(v) if f else v for f, v in zip(compiled.results, values, strict=True))
    return compiled.row(*values)


def _run(raw: sqlite3.Connection, sql: str, values: list[Any]) -> sqlite3.Cursor:
    try:
        return raw.execute(sql, values)
    except sqlite3.Error as e:
        raise exc.DBAPIError.instance(sql, values, e, sqlite3.Error) from e
