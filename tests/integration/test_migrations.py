"""Migrations: a database made by an older revier comes up to the newest
schema with its rows intact, and ends up exactly as ``schema.py`` says."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text

from revier.storage.engine import MIGRATIONS, create_engines
from revier.storage.schema import include_name, metadata
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
                    MigrationContext.configure(
                        c, opts={"compare_type": True, "include_name": include_name}
                    ),
                    metadata,
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
        # 0011 adds the thread (None: main timeline); 0023 ``notify`` (a notification)
        ("@b:x", "!r:x", 7, False, None, True),
        ("$m", "$c"),
        ("@a:x", "D", "t1", "$m", 0),
    ]
    assert rowid_free


def _event(
    event_id: str, position: int, sender: str, content: dict[str, object]
) -> dict[str, object]:
    return {
        "event_id": event_id,
        "so": position,
        "sender": sender,
        "json": json.dumps({"type": "m.room.message", "content": content}),
    }


async def _migrate_relations(url: str) -> dict[str, list[tuple[object, ...]]]:
    thread = {"m.relates_to": {"rel_type": "m.thread", "event_id": "$root"}}
    edit = {
        "m.new_content": {"body": "b"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": "$reply"},
    }
    reaction = {"m.relates_to": {"rel_type": "m.annotation", "event_id": "$root", "key": "+1"}}
    events = [
        _event("$root", 1, "@a:x", {"body": "root"}),
        _event("$reply", 2, "@b:x", {"body": "in the thread", **thread}),
        _event("$edit", 3, "@b:x", {"body": "* b", **edit}),
        _event("$foreign_edit", 4, "@a:x", {"body": "* b", **edit}),  # not the sender's
        _event("$reaction", 5, "@a:x", reaction),
        _event("$reply2", 6, "@a:x", {"body": "again", **thread}),
    ]
    engines = create_engines(url)
    try:
        async with engines.writer.begin() as conn:
            await conn.run_sync(_upgrade, "0009")
            await conn.execute(
                text(
                    "INSERT INTO events (event_id, stream_ordering, room_id, type, sender,"
                    " depth, origin_server_ts, json) VALUES"
                    " (:event_id, :so, '!r:x', 'm.room.message', :sender, :so, 0, :json)"
                ),
                events,
            )
            await conn.execute(
                text("INSERT INTO event_push_actions VALUES ('@a:x', '!r:x', 2, false)")
            )
        async with engines.writer.begin() as conn:
            await conn.run_sync(_upgrade, "head")
            queries = {
                "relations": "SELECT event_id, relates_to_id, rel_type, aggregation_key,"
                " thread_id FROM event_relations ORDER BY stream_ordering",
                "threads": "SELECT thread_id, latest_event_id, stream_ordering FROM threads",
                "parents": "SELECT event_id FROM events WHERE has_children ORDER BY event_id",
                "pushed": "SELECT stream_ordering, thread_id FROM event_push_actions",
            }
            return {
                name: [tuple(row) for row in await conn.execute(text(sql))]
                for name, sql in queries.items()
            }
    finally:
        await engines.dispose()


def test_0011_finds_the_relations_of_stored_events(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    found = asyncio.run(_migrate_relations(database_url(engine, request, tmp_path)))
    assert found["relations"] == [
        ("$reply", "$root", "m.thread", None, "$root"),
        ("$edit", "$reply", "m.replace", None, "$root"),  # an edit is where its original is
        ("$reaction", "$root", "m.annotation", "+1", None),  # a reaction to a root: main
        ("$reply2", "$root", "m.thread", None, "$root"),
    ]
    assert found["threads"] == [("$root", "$reply2", 6)]
    assert found["parents"] == [("$reply",), ("$root",)]
    assert found["pushed"] == [(2, "$root")]


async def _ignored_after_0012(url: str) -> list[tuple[str, str]]:
    engines = create_engines(url)
    try:
        async with engines.writer.begin() as conn:
            await conn.run_sync(_upgrade, "0011")
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


async def _search_after_0015(url: str) -> dict[str, list[int]]:
    engines = create_engines(url)
    try:
        async with engines.writer.begin() as conn:
            await conn.run_sync(_upgrade, "0014")
            rows = [
                # (stream_ordering, room, type, state_key, content, redacted_by)
                (1, "!open:x", "m.room.message", None, {"body": "Lagebericht Nord"}, None),
                (2, "!open:x", "m.room.name", "", {"name": "Lage Nord"}, None),
                (3, "!open:x", "m.room.topic", "", {"topic": "Nur Lage"}, None),
                (4, "!open:x", "m.room.message", None, {}, "$redaction"),  # redacted
                (5, "!open:x", "m.room.member", "@a:x", {"membership": "join"}, None),
                (6, "!open:x", "m.room.message", None, {"body": 5}, None),  # no text
                (7, "!secret:x", "m.room.message", None, {"body": "Lage geheim"}, None),
                (8, "!secret:x", "m.room.encryption", "", {"algorithm": "x"}, None),
            ]
            for so, room, kind, key, content, redacted in rows:
                await conn.execute(
                    text(
                        "INSERT INTO events (event_id, stream_ordering, room_id, type,"
                        " state_key, sender, depth, origin_server_ts, json, redacted_by)"
                        " VALUES (:id, :so, :room, :type, :key, '@a:x', :so, 0, :json, :red)"
                    ),
                    {
                        "id": f"$e{so}",
                        "so": so,
                        "room": room,
                        "type": kind,
                        "key": key,
                        "json": json.dumps({"content": content}),
                        "red": redacted,
                    },
                )
            await conn.execute(
                text(
                    "INSERT INTO current_state VALUES ('!secret:x', 'm.room.encryption', '', '$e8')"
                )
            )
        async with engines.writer.begin() as conn:
            await conn.run_sync(_upgrade, "head")
            if engines.is_sqlite:
                key = "rowid"
                match = "event_search MATCH :q"
            else:
                key = "stream_ordering"
                match = "vector @@ to_tsquery('simple', :q)"
            indexed = await conn.execute(text(f"SELECT {key} FROM event_search ORDER BY 1"))
            lage = "lage*" if engines.is_sqlite else "lage:*"
            found = await conn.execute(
                text(f"SELECT {key} FROM event_search WHERE {match} ORDER BY 1"), {"q": lage}
            )
            return {"indexed": [r[0] for r in indexed], "found": [r[0] for r in found]}
    finally:
        await engines.dispose()


def test_0015_indexes_the_searchable_events_stored_before(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = database_url(engine, request, tmp_path)
    # Not the redacted message, the member event, the one without a body, nor the
    # encrypted room's message.
    assert asyncio.run(_search_after_0015(url)) == {"indexed": [1, 2, 3], "found": [1, 2, 3]}


async def _accounts_after_0016(url: str) -> list[tuple[str, bool, bool]]:
    engines = create_engines(url)
    try:
        async with engines.writer.begin() as conn:
            await conn.run_sync(_upgrade, "0015")
            await conn.execute(
                text(
                    "INSERT INTO users (user_id, tenant, localpart, is_admin, deactivated,"
                    " created_ts, is_guest) VALUES ('@a:x', 'x', 'a', false, false, 0, false)"
                )
            )
        async with engines.writer.begin() as conn:
            await conn.run_sync(_upgrade, "head")
            rows = await conn.execute(text("SELECT user_id, locked, suspended FROM users"))
            return [(r[0], bool(r[1]), bool(r[2])) for r in rows]
    finally:
        await engines.dispose()


def test_0016_leaves_existing_accounts_neither_locked_nor_suspended(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = database_url(engine, request, tmp_path)
    assert asyncio.run(_accounts_after_0016(url)) == [("@a:x", False, False)]
