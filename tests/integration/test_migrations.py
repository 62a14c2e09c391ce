"""Migrations: a database made by an older revier comes up to the newest
schema with its rows intact, and ends up exactly as ``schema.py`` says."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text

from revier.storage.engine import MIGRATIONS, create_engines
from revier.storage.schema import metadata
from tests.integration.conftest import database_url


def _upgrade(conn: Connection, to: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, to)


async def _migrate_with_rows(url: str) -> tuple[list[object], list[object], bool]:
    engines = create_engines(url)
    try:
        async with engines.writer.begin() as conn:
            await conn.run_sync(_upgrade, "0007")
            # Rows as revier 0007 wrote them: a message, its edge, its txn, a notification.
            await conn.execute(
                text(
                    "INSERT INTO events (event_id, stream_ordering, room_id, type, sender,"
                    " depth, origin_server_ts, json) VALUES"
                    " ('$m', 7, '!r:x', 'm.room.message', '@a:x', 2, 0, '{}')"
                )
            )
            await conn.execute(text("INSERT INTO event_edges VALUES ('$m', '$c')"))
            await conn.execute(text("INSERT INTO event_txns VALUES ('@a:x', 'D', 't1', '$m', 0)"))
            await conn.execute(
                text("INSERT INTO event_push_actions VALUES ('@b:x', '!r:x', '$m', 7, false)")
            )
        async with engines.writer.begin() as conn:
            await conn.run_sync(_upgrade, "head")
            diff = await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True}), metadata
                )
            )
            pushed = list(await conn.execute(text("SELECT * FROM event_push_actions")))
            kept = [
                (await conn.execute(text("SELECT * FROM event_edges"))).one(),
                (await conn.execute(text("SELECT * FROM event_txns"))).one(),
            ]
            rowid_free = True
            if engines.is_sqlite:
                ddl = await conn.execute(
                    text(
                        "SELECT sql FROM sqlite_master WHERE name IN"
                        " ('event_push_actions', 'event_edges', 'event_txns')"
                    )
                )
                rowid_free = all("WITHOUT ROWID" in row.sql for row in ddl)
        return diff, [tuple(r) for r in pushed] + [tuple(r) for r in kept], rowid_free
    finally:
        await engines.dispose()


def test_0008_keeps_rows_and_matches_the_schema(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = database_url(engine, request, tmp_path)
    diff, rows, rowid_free = asyncio.run(_migrate_with_rows(url))
    assert diff == []
    assert rows == [
        ("@b:x", "!r:x", 7, False),
        ("$m", "$c"),
        ("@a:x", "D", "t1", "$m", 0),
    ]
    assert rowid_free


async def _ignored_after_0012(url: str) -> list[tuple[str, str]]:
    engines = create_engines(url)
    try:
        async with engines.writer.begin() as conn:
            await conn.run_sync(_upgrade, "0009")
            lists = [
                ("@a:x", '{"ignored_users": {"@b:x": {}, "@c:x": {}, "@a:x": {}}}'),
                ("@d:x", '{"ignored_users": ["@b:x"]}'),  # malformed: ignores nobody
                ("@e:x", "not json at all"),
            ]
            for user_id, content in lists:
                await conn.execute(
                    text("INSERT INTO account_data VALUES (:u, '', 'm.ignored_user_list', :c, 1)"),
                    {"u": user_id, "c": content},
                )
        async with engines.writer.begin() as conn:
            await conn.run_sync(_upgrade, "head")
            rows = await conn.execute(text("SELECT * FROM ignored_users ORDER BY 1, 2"))
            return [(r[0], r[1]) for r in rows]
    finally:
        await engines.dispose()


def test_0012_fills_ignored_users_from_the_lists_set_before(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = database_url(engine, request, tmp_path)
    assert asyncio.run(_ignored_after_0012(url)) == [("@a:x", "@b:x"), ("@a:x", "@c:x")]
