"""``storage/direct.py``: a prepared statement run on SQLite's own connection gives
what SQLAlchemy's execution of the same statement gives — rows, converted types,
row counts, errors — on a real SQLite database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    MetaData,
    Table,
    Text,
    bindparam,
    event,
    false,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError, NoResultFound
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.direct import Prepared, snapshot
from revier.storage.engine import Engines, create_engines

_META = MetaData()
_ITEMS = Table(
    "items",
    _META,
    Column("item_id", Text, primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("room_id", Text, nullable=False),
    Column("hidden", Boolean, nullable=False, server_default=false()),
)
_INSERT = Prepared(insert(_ITEMS))
# "!a" is written into the statement (an anonymous parameter with its value).
_IN_ROOM_A = Prepared(
    select(_ITEMS.c.item_id, _ITEMS.c.position, _ITEMS.c.hidden.label("secret"))
    .where(_ITEMS.c.room_id == "!a", _ITEMS.c.position >= bindparam("from"))
    .order_by(_ITEMS.c.position)
)
_MOVE = Prepared(
    update(_ITEMS)
    .where(_ITEMS.c.room_id == bindparam("room"))
    .values(position=_ITEMS.c.position + bindparam("by"))
    .returning(_ITEMS.c.position)
)


@pytest.fixture
async def engines(tmp_path: Path) -> AsyncIterator[Engines]:
    engines = create_engines(f"sqlite:///{tmp_path / 'direct.db'}")
    async with engines.writer.begin() as conn:
        await conn.run_sync(_META.create_all)
    yield engines
    await engines.writer.dispose()
    await engines.reader.dispose()


async def _both(conn: AsyncConnection, prepared: Prepared, params: dict[str, Any]) -> Any:
    """The prepared statement's rows and SQLAlchemy's, as plain tuples and dicts."""
    direct = (await prepared.rows(conn, params)).all()
    through = (await conn.execute(prepared.statement, params)).all()
    return [(tuple(r), r._asdict()) for r in direct], [(tuple(r), r._asdict()) for r in through]


async def test_rows_types_and_counts_are_sqlalchemys(engines: Engines) -> None:
    async with engines.writer.begin() as conn:
        for k, room in enumerate(["!a", "!b", "!a", "!a"]):
            await _INSERT.rows(conn, {"item_id": f"i{k}", "position": k, "room_id": room})
        await _INSERT.many(
            conn,
            [{"item_id": "h5", "position": 5, "room_id": "!a", "hidden": True}],
        )
        await _INSERT.many(conn, [])  # nothing: not one row of defaults
        direct, through = await _both(conn, _IN_ROOM_A, {"from": 2})
        assert direct == through
        assert [row[1]["secret"] for row in direct] == [False, False, True]
        assert all(type(row[1]["secret"]) is bool for row in direct)
        assert (await conn.execute(select(func.count()).select_from(_ITEMS))).scalar() == 5
        moved = await _MOVE.rows(conn, {"room": "!b", "by": 10})
        assert moved.rowcount == 1 and moved.scalars() == [11]
        assert (await _IN_ROOM_A.rows(conn, {"from": 99})).first() is None
        with pytest.raises(NoResultFound):
            (await _IN_ROOM_A.rows(conn, {"from": 99})).one()


async def test_a_duplicate_is_sqlalchemys_integrity_error(engines: Engines) -> None:
    async with engines.writer.begin() as conn:
        await _INSERT.rows(conn, {"item_id": "x", "position": 1, "room_id": "!a"})
        with pytest.raises(IntegrityError):
            await _INSERT.rows(conn, {"item_id": "x", "position": 2, "room_id": "!a"})
        with pytest.raises(IntegrityError):
            await _INSERT.many(conn, [{"item_id": "x", "position": 3, "room_id": "!a"}])


async def test_a_snapshot_holds_for_statements_through_sqlalchemy_too(engines: Engines) -> None:
    """``snapshot`` begins on SQLite's connection; a statement SQLAlchemy runs inside
    joins that transaction (its ``begin`` sends no second BEGIN) and sees the same moment."""
    async with engines.writer.begin() as conn:
        await _INSERT.rows(conn, {"item_id": "old", "position": 1, "room_id": "!a"})
    everything = select(_ITEMS.c.item_id).order_by(_ITEMS.c.position)
    async with engines.reader.connect() as reader:
        async with snapshot(reader):
            first = (await _IN_ROOM_A.rows(reader, {"from": 0})).scalars()
            async with engines.writer.begin() as conn:
                await _INSERT.rows(conn, {"item_id": "new", "position": 2, "room_id": "!a"})
            assert (await reader.execute(everything)).scalars().all() == first == ["old"]
            assert (await _IN_ROOM_A.rows(reader, {"from": 0})).scalars() == ["old"]
        async with snapshot(reader):  # the next snapshot on the same connection is newer
            assert (await reader.execute(everything)).scalars().all() == ["old", "new"]


_LISTED = Prepared(
    select(_ITEMS.c.item_id)
    .where(
        _ITEMS.c.room_id.in_(bindparam("rooms", expanding=True)),
        tuple_(_ITEMS.c.room_id, _ITEMS.c.item_id).not_in(bindparam("pairs", expanding=True)),
    )
    .order_by(_ITEMS.c.item_id)
)


async def test_lists_are_written_out_as_sqlalchemy_writes_them(engines: Engines) -> None:
    async with engines.writer.begin() as conn:
        for k, room in enumerate(["!a", "!b", "!c", "!a", "!b"]):
            await _INSERT.rows(conn, {"item_id": f"i{k}", "position": k, "room_id": room})
        for rooms, pairs in [
            (["!a"], [("!a", "i0")]),
            (["!a", "!b"], [("!x", "i9")]),
            (["!a", "!b", "!c"], [("!a", "i3"), ("!b", "i1")]),
            ([], [("!a", "i0")]),  # an empty list: SQLAlchemy's always-false test
            (["!a", "!c"], []),
            (["!b"], [("!b", "i4")]),  # a length seen before: its SQL is reused
        ]:
            params = {"rooms": rooms, "pairs": pairs}
            direct = (await _LISTED.rows(conn, params)).scalars()
            through = (await conn.execute(_LISTED.statement, params)).scalars().all()
            assert direct == through, params
        assert (await _LISTED.rows(conn, {"rooms": ["!a", "!b"], "pairs": []})).scalars() == [
            "i0",
            "i1",
            "i3",
            "i4",
        ]


async def test_a_statement_it_cannot_run_as_sqlalchemy_would_is_refused(
    engines: Engines,
) -> None:
    """A list of values SQLAlchemy would convert one by one (here dates to text)."""
    dates = bindparam("dates", expanding=True, type_=DateTime)
    listed = Prepared(select(_ITEMS.c.item_id).where(_ITEMS.c.room_id.in_(dates)))
    async with engines.writer.begin() as conn:
        with pytest.raises(TypeError, match="can't be written out"):
            await listed.rows(conn, {"dates": [datetime(2026, 1, 1)]})


async def test_statement_listeners_see_every_statement(engines: Engines) -> None:
    """``bench/statements.py`` listens to SQLAlchemy: then it runs through SQLAlchemy."""
    seen: list[str] = []

    def listener(_conn: object, _cursor: object, sql: str, *_: object) -> None:
        seen.append(sql)

    event.listen(engines.writer.sync_engine, "before_cursor_execute", listener)
    async with engines.writer.begin() as conn:
        await _INSERT.rows(conn, {"item_id": "x", "position": 1, "room_id": "!a"})
    assert any(sql.startswith("INSERT INTO items") for sql in seen)
