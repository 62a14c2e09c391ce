"""``Store.read`` hands its connections from one snapshot to the next
(``storage/read_connections.py``), on SQLite and on PostgreSQL: each snapshot
still reads one moment, the newest at its start, and a connection the
database dropped costs no read once it has waited its second."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from revier.storage import read_connections
from revier.storage.engine import create_engines, migrate
from revier.storage.store import Store
from tests.integration.conftest import database_url

_COUNT = text("SELECT count(*) FROM audit_log")
_ADD = text(
    "INSERT INTO audit_log (ts, tenant, actor, action, target, source_pseudonymised)"
    " VALUES (0, 'x', 'a', 'test', 't', false)"
)


async def _store(url: str) -> Store:
    engines = create_engines(url)
    await migrate(engines)
    return Store(engines)


async def _add(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.conn.execute(_ADD)


async def _reads_one_moment_each(url: str) -> list[int]:
    store = await _store(url)
    try:
        seen = []
        async with store.read() as tx:
            kept = tx.conn
            seen.append((await tx.conn.execute(_COUNT)).scalar_one())
            await _add(store)  # committed while the snapshot is open: not in it
            seen.append((await tx.conn.execute(_COUNT)).scalar_one())
        async with store.read() as tx:
            assert tx.conn is kept  # handed on, not checked out anew
            seen.append((await tx.conn.execute(_COUNT)).scalar_one())
        return seen
    finally:
        await store.close()


def test_a_kept_connection_reads_one_moment_the_newest(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    assert asyncio.run(_reads_one_moment_each(database_url(engine, request, tmp_path))) == [0, 0, 1]


async def _more_reads_than_connections(url: str) -> int:
    store = await _store(url)
    try:
        # Every connection of the pool out, and as many reads again waiting for one.
        size = store._engines.reader.pool.size()  # type: ignore[attr-defined]
        opened = asyncio.Event()
        done = 0

        async def read(k: int) -> None:
            nonlocal done
            async with store.read() as tx:
                await tx.conn.execute(_COUNT)
                if k < size:
                    await opened.wait()  # held until all the others queue
            done += 1

        reads = [asyncio.create_task(read(k)) for k in range(2 * size)]
        await asyncio.sleep(0.5)
        opened.set()
        # The pool's own wait is 120 s: a read left waiting there fails this.
        await asyncio.wait_for(asyncio.gather(*reads), timeout=10)
        return done - 2 * size
    finally:
        await store.close()


def test_reads_waiting_for_the_pool_get_the_connections_handed_back(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    assert asyncio.run(_more_reads_than_connections(database_url(engine, request, tmp_path))) == 0


async def _survives_a_dropped_connection(url: str) -> int:
    store = await _store(url)
    try:
        async with store.read() as tx:
            pid = (await tx.conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with store.transaction() as tx:  # the server drops the kept one
            await tx.conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await asyncio.sleep(read_connections.KEEP_S * 2)
        await _add(store)
        async with store.read() as tx:  # from the pool, pinged first: a live one
            return int((await tx.conn.execute(_COUNT)).scalar_one())
    finally:
        await store.close()


def test_a_connection_the_server_dropped_is_not_read_from_after_its_second(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine != "postgresql":
        pytest.skip("a PostgreSQL server ends connections; SQLite's are in the process")
    monkeypatch.setattr(read_connections, "KEEP_S", 0.2)
    url = database_url(engine, request, tmp_path)
    assert asyncio.run(_survives_a_dropped_connection(url)) == 1
