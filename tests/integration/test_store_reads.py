"""``Store.read`` hands its connections from one snapshot to the next
(``storage/read_connections.py``), on SQLite and on PostgreSQL: each snapshot
still reads one moment, the newest at its start, and a connection the
database dropped costs no read once it has waited its second. Statements in
a snapshot run on the driver's own connection (``storage/direct.py``,
``direct_pg.py``) and give what SQLAlchemy's execution gives."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import bindparam, select, text, tuple_
from sqlalchemy.exc import DBAPIError

from revier.storage import direct_pg, read_connections
from revier.storage.core.tables import audit_log
from revier.storage.direct import Prepared
from revier.storage.engine import create_engines, migrate
from revier.storage.store import Store
from tests.integration.conftest import database_url

_COUNT = text("SELECT count(*) FROM audit_log")
_ADD = text(
    "INSERT INTO audit_log (ts, tenant, actor, action, target, source_pseudonymised)"
    " VALUES (0, 'x', 'a', 'test', 't', false)"
)
_ENTRIES = (
    select(
        audit_log.c.id,
        audit_log.c.ts,
        audit_log.c.actor.label("who"),
        audit_log.c.source,
        audit_log.c.source_pseudonymised,
    )
    .where(audit_log.c.tenant == bindparam("tenant"), audit_log.c.ts >= 0)
    .order_by(audit_log.c.id)
)
_PREPARED_ENTRIES = Prepared(_ENTRIES)
# Lists (one of pairs, one written into the statement) and a parameter after
# them: written out and renumbered.
_LISTED = (
    select(audit_log.c.id, audit_log.c.action)
    .where(
        audit_log.c.id.in_(bindparam("ids", expanding=True)),
        audit_log.c.action.in_(["test", "other"]),
        tuple_(audit_log.c.tenant, audit_log.c.action).in_(bindparam("pairs", expanding=True)),
        audit_log.c.target == bindparam("target"),
    )
    .order_by(audit_log.c.id)
)
_PREPARED_LISTED = Prepared(_LISTED)
_SERVER_ENDS = "a PostgreSQL server ends connections; SQLite's are in the process"


def _postgresql_url(engine: str, request: pytest.FixtureRequest, tmp_path: Path, why: str) -> str:
    if engine != "postgresql":
        pytest.skip(why)
    return database_url(engine, request, tmp_path)


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
    url = _postgresql_url(engine, request, tmp_path, _SERVER_ENDS)
    monkeypatch.setattr(read_connections, "KEEP_S", 0.2)
    assert asyncio.run(_survives_a_dropped_connection(url)) == 1


async def _prepared_and_sqlalchemy(url: str) -> tuple[list[object], list[object], bool]:
    store = await _store(url)
    try:
        await _add(store)
        await _add(store)
        async with store.read() as tx:
            direct = (await _PREPARED_ENTRIES.rows(tx.conn, {"tenant": "x"})).all()
            through = list(await tx.conn.execute(_ENTRIES, {"tenant": "x"}))
            on_driver = tx.is_sqlite or direct_pg.in_snapshot(tx.conn) is not None
            for ids, pairs in [([1, 2, 3], [("x", "test")]), ([2], [("y", "z"), ("x", "test")])]:
                given = {"ids": ids, "pairs": pairs, "target": "t"}
                listed = (await _PREPARED_LISTED.rows(tx.conn, given)).all()
                assert listed == list(await tx.conn.execute(_LISTED, given))
                assert [r.id for r in listed] == [i for i in ids if i <= 2]
        return [tuple(r) for r in direct], [tuple(r) for r in through], on_driver
    finally:
        await store.close()


def test_a_prepared_read_gives_what_sqlalchemy_gives(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = database_url(engine, request, tmp_path)
    direct, through, on_driver = asyncio.run(_prepared_and_sqlalchemy(url))
    assert on_driver and len(direct) == 2
    assert direct == through
    assert [type(v) for v in direct[0]] == [int, int, str, type(None), bool]


async def _a_write_in_a_snapshot(url: str) -> int:
    store = await _store(url)
    try:
        with pytest.raises(DBAPIError, match="read-only"):
            async with store.read() as tx:
                await tx.conn.execute(_ADD)
        async with store.read() as tx:  # the same connection, its transaction ended
            return int((await _PREPARED_ENTRIES.rows(tx.conn, {"tenant": "x"})).rowcount)
    finally:
        await store.close()


def test_a_snapshot_on_postgresql_refuses_writes_and_stays_usable(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    why = "SQLite's read connections are not read-only; PostgreSQL's snapshots are"
    url = _postgresql_url(engine, request, tmp_path, why)
    assert asyncio.run(_a_write_in_a_snapshot(url)) == 0


async def _dropped_within_its_second(url: str) -> tuple[bool, int]:
    store = await _store(url)
    try:
        async with store.read() as tx:
            pid = (await tx.conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with store.transaction() as tx:
            await tx.conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await asyncio.sleep(0.1)  # within KEEP_S: the dead connection is handed on
        failed = False
        try:
            async with store.read() as tx:
                await _PREPARED_ENTRIES.rows(tx.conn, {"tenant": "x"})
        except DBAPIError:
            failed = True
        await _add(store)
        async with store.read() as tx:  # not the dead one again
            return failed, len((await _PREPARED_ENTRIES.rows(tx.conn, {"tenant": "x"})).all())
    finally:
        await store.close()


def test_a_connection_found_dropped_fails_one_read_and_is_not_kept(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = _postgresql_url(engine, request, tmp_path, _SERVER_ENDS)
    assert asyncio.run(_dropped_within_its_second(url)) == (True, 1)
