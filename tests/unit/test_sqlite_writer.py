"""SQLite's writer: group commit, the inline connection, background checkpoints —
on real database files."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from revier.storage import checkpoint, sqlite_inline
from revier.storage.engine import create_engines, migrate
from revier.storage.store import Conflict, Store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    engines = create_engines(f"sqlite:///{tmp_path / 'revier.db'}")
    await migrate(engines)
    store = Store(engines)
    async with store.transaction() as tx:
        await tx.conn.execute(text("CREATE TABLE probe (n INTEGER PRIMARY KEY)"))
    yield store
    await store.close()


async def _insert(store: Store, n: int) -> None:
    async with store.transaction() as tx:
        await tx.conn.execute(text("INSERT INTO probe (n) VALUES (:n)"), {"n": n})


async def _committed(store: Store) -> list[int]:
    async with store.read() as tx:
        return sorted(r[0] for r in await tx.conn.execute(text("SELECT n FROM probe")))


async def test_concurrent_blocks_are_each_committed_when_they_return(store: Store) -> None:
    async def insert_and_read(n: int) -> bool:
        await _insert(store, n)
        return n in await _committed(store)  # visible to a reader once the block returns

    assert all(await asyncio.gather(*(insert_and_read(n) for n in range(50))))
    assert await _committed(store) == list(range(50))


async def test_a_failing_block_is_undone_alone(store: Store) -> None:
    async def duplicate() -> None:
        async with store.transaction() as tx:
            await tx.conn.execute(text("INSERT INTO probe (n) VALUES (1000)"))
            await tx.conn.execute(text("INSERT INTO probe (n) VALUES (1)"))  # taken

    async def fails_halfway() -> None:
        async with store.transaction() as tx:
            await tx.conn.execute(text("INSERT INTO probe (n) VALUES (2000)"))
            raise RuntimeError("changed my mind")

    await _insert(store, 1)
    results = await asyncio.gather(
        _insert(store, 2), duplicate(), fails_halfway(), _insert(store, 3), return_exceptions=True
    )
    assert results[0] is None and results[3] is None
    assert isinstance(results[1], Conflict)
    assert isinstance(results[2], RuntimeError)
    assert await _committed(store) == [1, 2, 3]


async def test_a_cancelled_caller_does_not_take_the_commit_from_the_others(store: Store) -> None:
    first = asyncio.create_task(_insert(store, 1))
    second = asyncio.create_task(_insert(store, 2))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    await asyncio.wait_for(second, 5)  # committed by the batch all the same
    assert 2 in await _committed(store)


async def test_the_writer_waits_for_another_process_without_blocking_the_loop(
    store: Store, tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "revier.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # like the admin CLI, holding the write lock
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    ticking = asyncio.create_task(ticker())
    writing = asyncio.create_task(_insert(store, 7))
    await asyncio.sleep(0.2)
    assert not writing.done()
    assert ticks > 10  # the loop went on while the writer waited
    other.execute("COMMIT")
    other.close()
    await asyncio.wait_for(writing, 5)
    ticking.cancel()
    assert await _committed(store) == [7]


async def test_a_lock_held_too_long_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_inline, "LOCK_WAIT_SECONDS", 0.1)
    path = tmp_path / "locked.db"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("BEGIN IMMEDIATE")
    connection = await sqlite_inline.connect(str(path))
    cursor = connection.cursor()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        await cursor.execute("BEGIN IMMEDIATE")
    other.rollback()
    other.close()
    await connection.close()


async def test_checkpoints_copy_the_log_into_the_database_in_the_background(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checkpoint, "INTERVAL_SECONDS", 0.05)
    database = tmp_path / "revier.db"
    for n in range(200):
        await _insert(store, n)
    # The inline writer never checkpoints: everything so far is in the log only.
    before = database.stat().st_size
    assert (tmp_path / "revier.db-wal").stat().st_size > before
    store.start_checkpoints()
    for _ in range(100):
        if database.stat().st_size > before:
            break
        await asyncio.sleep(0.05)
    assert database.stat().st_size > before
    assert await _committed(store) == list(range(200))


async def test_a_commit_is_announced_before_any_reader_can_see_it(tmp_path: Path) -> None:
    # The change log must never be behind what a read snapshot shows (the
    # store's on_commit feeds it): else a woken /sync reads everything from the
    # database instead. The readers here look between any two steps of the loop.
    path = tmp_path / "revier.db"
    engines = create_engines(f"sqlite:///{path}")
    await migrate(engines)
    store = Store(engines)
    look = sqlite3.connect(path, isolation_level=None)
    position = "SELECT position FROM stream_counter"
    announced = [look.execute(position).fetchone()[0]]
    store.on_commit = lambda written: announced.__setitem__(
        0, max(announced[0], *written.positions)
    )
    ahead: list[tuple[int, int]] = []
    writing = True

    async def write() -> None:
        async with store.transaction() as tx:
            await tx.streams.next_position()

    async def read() -> None:
        while writing:
            seen = look.execute(position).fetchone()[0]  # no await: this very step
            if seen > announced[0]:
                ahead.append((seen, announced[0]))
            await asyncio.sleep(0)

    readers = [asyncio.create_task(read()) for _ in range(4)]
    for _ in range(10):
        await asyncio.gather(*(write() for _ in range(20)))
    writing = False
    await asyncio.gather(*readers)
    look.close()
    await store.close()
    assert not ahead, ahead[:5]
