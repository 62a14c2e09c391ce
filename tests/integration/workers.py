"""Two revier worker processes on one PostgreSQL database, woken across through Redis."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import RevierProcess, server_env, write_config
from tests.integration.postgres import create_database
from tests.integration.redis_server import redis_server


@contextmanager
def two_workers(
    engine: str, request: pytest.FixtureRequest, tmp_root: Path, name: str, **config: Any
) -> Iterator[list[RevierProcess]]:
    """Two workers sharing a fresh database (its name unique, so a fixture set up
    again never meets the last one's) and a private Redis; ``config`` goes to
    ``write_config``. Scale-out is a PostgreSQL matter: skipped on SQLite."""
    if engine != "postgresql":
        pytest.skip("scale-out runs on PostgreSQL")
    unique = f"revier_{name}_{secrets.token_hex(3)}"
    dsn = create_database(request.getfixturevalue("pg_dsn"), unique)
    data_dir = tmp_root / unique
    data_dir.mkdir()
    with redis_server() as redis_url:
        path = data_dir / "revier.toml"
        write_config(
            path, data_dir=data_dir, database_url=dsn, notify={"redis_url": redis_url}, **config
        )
        procs = [RevierProcess(data_dir=data_dir, config=path, env=server_env()) for _ in "ab"]
        try:
            for proc in procs:
                proc.start()
            yield procs
        finally:
            for proc in procs:
                proc.stop()
