"""An overloaded server answers 503 with Retry-After, never a 500: when every pooled
database connection stays busy for the pool's timeout (seen under 25,000 clients'
initial syncs on two workers), the waiting request gets ``ServerBusy``."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from structlog.testing import capture_logs
from tests.sqlite_pool import one_connection_engine

from revier.api.errors import error_headers, status_for
from revier.errors import ServerBusy
from revier.storage.engine import Engines
from revier.storage.store import Store


async def test_a_read_that_finds_no_free_connection_in_time_is_server_busy(
    tmp_path: Path,
) -> None:
    database = str(tmp_path / "busy.db")
    tight = one_connection_engine(database, pool_timeout=0.2)
    store = Store(Engines(tight, tight, is_sqlite=True))
    try:
        async with store.read() as held:
            await held.conn.execute(text("SELECT 1"))
            with capture_logs() as logged:
                with pytest.raises(ServerBusy):
                    async with store.read():
                        pass
                # The operator learns of it, with the pool's state, once per interval.
                with pytest.raises(ServerBusy):
                    async with store.read():
                        pass
        said = [e for e in logged if "answered 503" in e["event"]]
        assert len(said) == 1 and said[0]["refused"] == 1 and "Pool size: 1" in said[0]["pool"]
        # The connection came back: the next read goes through.
        async with store.read() as tx:
            assert (await tx.conn.execute(text("SELECT 2"))).scalar() == 2
    finally:
        await store.close()


def test_server_busy_is_a_503_with_retry_after() -> None:
    busy = ServerBusy()
    assert status_for(busy) == 503
    assert error_headers(busy) == {"Retry-After": "1"}
    assert busy.to_json()["errcode"] == "M_UNKNOWN"
