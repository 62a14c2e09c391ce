"""Server-side search: ``event_search``, the full-text index of room events.

SQLite: an FTS5 virtual table (rowid = the event's stream ordering);
PostgreSQL: a ``tsvector`` per event with a GIN index (storage/rooms/search.py
says why the ``simple`` configuration). Filled here from the events stored so
far that have searchable text, in rooms that are not encrypted now; redacted
events have none left.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_BATCH = 1000


def upgrade() -> None:
    conn = op.get_bind()
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        op.execute(
            "CREATE VIRTUAL TABLE event_search USING fts5"
            "(value, tokenize = 'unicode61 remove_diacritics 0')"
        )
    else:
        op.execute(
            "CREATE TABLE event_search"
            " (stream_ordering BIGINT PRIMARY KEY, vector TSVECTOR NOT NULL)"
        )
        op.execute("CREATE INDEX event_search_vector ON event_search USING gin (vector)")
    _fill(conn, sqlite)


def downgrade() -> None:
    op.execute("DROP TABLE event_search")


# --- filling the index from the events stored so far ---------------------------
# What is searchable as in revier/events/search.py at this revision; a migration
# keeps its own copy.


def _fill(conn: sa.Connection, sqlite: bool) -> None:
    if sqlite:
        insert = sa.text("INSERT INTO event_search (rowid, value) VALUES (:so, :value)")
    else:
        insert = sa.text(
            "INSERT INTO event_search (stream_ordering, vector)"
            " VALUES (:so, to_tsvector('simple'::regconfig, :value))"
        )
    select = sa.text(
        "SELECT stream_ordering, type, json FROM events"
        " WHERE stream_ordering > :after"
        " AND type IN ('m.room.message', 'm.room.name', 'm.room.topic')"
        " AND redacted_by IS NULL"
        " AND room_id NOT IN (SELECT room_id FROM current_state"
        "  WHERE type = 'm.room.encryption' AND state_key = '')"
        " ORDER BY stream_ordering LIMIT :limit"
    )
    after = -1
    while rows := list(conn.execute(select, {"after": after, "limit": _BATCH})):
        after = rows[-1][0]
        batch: list[dict[str, Any]] = []
        for so, event_type, raw in rows:
            try:
                content = orjson.loads(raw).get("content")
            except (orjson.JSONDecodeError, AttributeError):
                continue
            value = _text(event_type, content) if isinstance(content, dict) else None
            if value is not None:
                batch.append({"so": so, "value": value})
        if batch:
            conn.execute(insert, batch)


def _text(event_type: str, content: dict[str, Any]) -> str | None:
    parts: list[Any] = []
    if event_type == "m.room.message":
        parts = [content.get("body")]
    elif event_type == "m.room.name":
        parts = [content.get("name")]
    elif event_type == "m.room.topic":
        parts = [content.get("topic")]
        topic = content.get("m.topic")
        if isinstance(topic, dict) and isinstance(topic.get("m.text"), list):
            parts += [
                block.get("body")
                for block in topic["m.text"]
                if isinstance(block, dict) and block.get("mimetype", "text/plain") == "text/plain"
            ]
    texts: list[str] = []
    for part in parts:
        text = part.replace("\x00", " ").strip() if isinstance(part, str) else ""
        if text and text not in texts:
            texts.append(text)
    return "\n".join(texts) or None
