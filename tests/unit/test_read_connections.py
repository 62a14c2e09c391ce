"""``Store.read`` on SQLite hands its connections from one snapshot to the next
(``storage/read_connections.py``): each snapshot still sees every commit before
it, whatever the previous one on that connection did."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import BigInteger, Column, MetaData, Table, Text, insert, select, text
from tests.sqlite_pool import one_connection_engine

from revier.storage import read_connections
from revier.storage.direct import Prepared
from revier.storage.engine import Engines, create_engines
from revier.storage.read_connections import ReadConnections
from revier.storage.store import Store

_META = MetaData()
_ITEMS = Table(
    "items",
    _META,
    Column("item_id", Text, primary_key=True),
    Column("position", BigInteger, nullable=False),
)
_ALL = Prepared(select(_ITEMS.c.item_id).order_by(_ITEMS.c.position))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    engines = create_engines(f"sqlite:///{tmp_path / 'reads.db'}")
    async with engines.writer.begin() as conn:
        await conn.run_sync(_META.create_all)
    store = Store(engines)
    yield store
    await store.close()


async def _add(store: Store, item: str, position: int) -> None:
    async with store.transaction() as tx:
        await tx.conn.execute(insert(_ITEMS).values(item_id=item, position=position))


async def _items(store: Store) -> list[str]:
    async with store.read() as tx:
        return list((await _ALL.rows(tx.conn)).scalars())


async def test_a_kept_connection_reads_what_was_committed_since(store: Store) -> None:
    async with store.read() as tx:
        first = tx.conn
    await _add(store, "a", 1)
    async with store.read() as tx:
        assert tx.conn is first  # kept, not checked out anew
        assert (await _ALL.rows(tx.conn)).scalars() == ["a"]
        # A statement through SQLAlchemy makes it believe in a transaction of its own.
        assert (await tx.conn.execute(text("SELECT count(*) FROM items"))).scalar() == 1
    await _add(store, "b", 2)
    assert await _items(store) == ["a", "b"]


async def test_a_read_that_failed_leaves_no_old_snapshot_behind(store: Store) -> None:
    await _add(store, "a", 1)
    with pytest.raises(ZeroDivisionError):
        async with store.read() as tx:
            assert (await _ALL.rows(tx.conn)).scalars() == ["a"]
            1 / 0  # noqa: B018
    await _add(store, "b", 2)
    assert await _items(store) == ["a", "b"]


async def test_a_connection_left_in_a_transaction_is_not_kept(tmp_path: Path) -> None:
    """Were a snapshot's end to fail, its transaction would still be open on the
    connection: kept, the next snapshot would read that old moment on."""
    engines = create_engines(f"sqlite:///{tmp_path / 'open.db'}")
    readers = ReadConnections(engines.reader, is_sqlite=True)
    conn = await readers.take()
    sqlite = conn.sync_connection.connection.driver_connection.raw  # type: ignore[union-attr]
    sqlite.execute("BEGIN")
    await readers.give_back(conn)
    assert conn.closed
    other = await readers.take()
    assert other is not conn
    await readers.give_back(other)
    await readers.close()
    await engines.dispose()


async def test_snapshots_at_once_each_have_a_connection(store: Store) -> None:
    seen: list[object] = []
    both = asyncio.Barrier(2)

    async def read() -> None:
        async with store.read() as tx:
            seen.append(tx.conn)
            await both.wait()  # both open at the same time

    await asyncio.gather(read(), read())
    assert seen[0] is not seen[1]
    async with store.read() as tx, store.read() as other:
        assert {tx.conn, other.conn} == set(seen)  # both kept


async def test_closing_returns_them_all_to_the_pool(store: Store) -> None:
    async with store.read(), store.read():
        pass
    pool = store._engines.reader.pool
    assert pool.checkedout() == 2  # type: ignore[attr-defined]
    await store.close()
    assert pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_place_freed_for_a_waiting_read_is_not_taken_by_a_newcomer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One connection in the pool, kept idle past its second: the next read closes
    it (that close awaits), a second read arrives meanwhile and waits. The freed
    place is the waiting read's; had the first taken it, the second would queue
    in the pool itself, where nothing hands it a connection: PoolTimeout."""
    monkeypatch.setattr(read_connections, "KEEP_S", 0.0)
    database = str(tmp_path / "one.db")
    one = one_connection_engine(database, pool_timeout=1)
    store = Store(Engines(one, one, is_sqlite=True))
    try:
        async with store.read():
            pass
        await asyncio.sleep(0.01)  # the kept connection is past KEEP_S now

        async def read() -> int:
            async with store.read() as tx:
                return int((await tx.conn.execute(text("SELECT 1"))).scalar_one())

        assert await asyncio.gather(read(), read()) == [1, 1]
    finally:
        await store.close()
