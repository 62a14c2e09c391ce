"""Relations and threads: child events, each room's threads, thread-aware unread counts.

``event_relations`` has one row per event whose ``m.relates_to`` has a
``rel_type`` and counts under the spec's rules; ``events.has_children`` marks
the parents, so events without children cost nothing when bundled aggregations
are added. ``threads`` lists each room's threads by their newest reply.
``event_push_actions.thread_id`` says which thread a notification is in (NULL:
the main timeline), for threaded read receipts and per-thread unread counts.

Existing events are read once to fill the new tables (only those whose JSON
mentions ``m.relates_to``; a redacted event's JSON no longer does).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(
            sa.Column("has_children", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "event_relations",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("relates_to_id", sa.Text(), nullable=False),
        sa.Column("rel_type", sa.Text(), nullable=False),
        sa.Column("room_id", sa.Text(), nullable=False),
        sa.Column("sender", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("aggregation_key", sa.Text(), nullable=True),
        sa.Column("thread_id", sa.Text(), nullable=True),
        sa.Column("stream_ordering", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index(
        "event_relations_parent",
        "event_relations",
        ["relates_to_id", "rel_type", "stream_ordering"],
    )
    op.create_table(
        "threads",
        sa.Column("room_id", sa.Text(), nullable=False),
        sa.Column("thread_id", sa.Text(), nullable=False),
        sa.Column("latest_event_id", sa.Text(), nullable=False),
        sa.Column("stream_ordering", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("room_id", "thread_id"),
    )
    op.create_index("threads_room_latest", "threads", ["room_id", "stream_ordering"])
    op.add_column("event_push_actions", sa.Column("thread_id", sa.Text(), nullable=True))
    _fill(op.get_bind())


def downgrade() -> None:
    op.drop_column("event_push_actions", "thread_id")
    op.drop_index("threads_room_latest", table_name="threads")
    op.drop_table("threads")
    op.drop_index("event_relations_parent", table_name="event_relations")
    op.drop_table("event_relations")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("has_children")


# --- filling the tables from the events stored so far ---------------------------
# The rules as in revier/events/relations.py at this revision; a migration keeps
# its own copy.


def _relation(content: Any) -> tuple[str, str, str | None] | None:
    relates_to = content.get("m.relates_to") if isinstance(content, dict) else None
    if not isinstance(relates_to, dict):
        return None
    rel_type, parent, key = (relates_to.get(k) for k in ("rel_type", "event_id", "key"))
    if not isinstance(rel_type, str) or not rel_type:
        return None
    if not isinstance(parent, str) or not parent.startswith("$"):
        return None
    if rel_type != "m.annotation":
        return rel_type, parent, None
    return (rel_type, parent, key) if isinstance(key, str) and key else None


def _counts(rel_type: str, child: dict[str, Any], parent: dict[str, Any]) -> bool:
    if child["room_id"] != parent["room_id"]:
        return False
    above = _relation(parent["content"])
    if rel_type == "m.replace":
        return (
            child["sender"] == parent["sender"]
            and child["type"] == parent["type"]
            and child["state_key"] is None
            and parent["state_key"] is None
            and (above is None or above[0] != "m.replace")
            and (
                child["type"] == "m.room.encrypted"
                or isinstance(child["content"].get("m.new_content"), dict)
            )
        )
    if rel_type == "m.annotation":
        return above is None or above[0] not in ("m.annotation", "m.replace")
    if rel_type == "m.thread":
        return above is None
    return True


def _fill(conn: sa.Connection) -> None:
    rows = conn.execute(
        sa.text(
            "SELECT event_id, room_id, type, state_key, sender, stream_ordering, json"
            " FROM events WHERE json LIKE '%m.relates_to%' ORDER BY stream_ordering"
        )
    )
    threads: dict[str, str | None] = {}  # child -> its thread, for children of children
    for row in list(rows):
        content = orjson.loads(row.json).get("content", {})
        relation = _relation(content)
        if relation is None:
            continue
        rel_type, parent_id, key = relation
        parent_row = conn.execute(
            sa.text(
                "SELECT room_id, type, state_key, sender, json FROM events WHERE event_id = :e"
            ),
            {"e": parent_id},
        ).first()
        if parent_row is None:
            continue
        child = {**row._mapping, "content": content}
        parent = {**parent_row._mapping, "content": orjson.loads(parent_row.json).get("content")}
        if not isinstance(parent["content"], dict) or not _counts(rel_type, child, parent):
            continue
        thread = parent_id if rel_type == "m.thread" else threads.get(parent_id)
        threads[row.event_id] = thread
        conn.execute(
            sa.text(
                "INSERT INTO event_relations VALUES"
                " (:event_id, :parent, :rel_type, :room_id, :sender, :type, :key, :thread, :so)"
            ),
            {
                "event_id": row.event_id,
                "parent": parent_id,
                "rel_type": rel_type,
                "room_id": row.room_id,
                "sender": row.sender,
                "type": row.type,
                "key": key,
                "thread": thread,
                "so": row.stream_ordering,
            },
        )
    conn.execute(
        sa.text(
            "UPDATE events SET has_children = true"
            " WHERE event_id IN (SELECT relates_to_id FROM event_relations)"
        )
    )
    conn.execute(
        sa.text(
            "INSERT INTO threads (room_id, thread_id, latest_event_id, stream_ordering)"
            " SELECT r.room_id, r.relates_to_id, r.event_id, r.stream_ordering"
            " FROM event_relations r WHERE r.rel_type = 'm.thread' AND r.stream_ordering ="
            " (SELECT MAX(o.stream_ordering) FROM event_relations o"
            "  WHERE o.relates_to_id = r.relates_to_id AND o.rel_type = 'm.thread')"
        )
    )
    conn.execute(
        sa.text(
            "UPDATE event_push_actions SET thread_id = (SELECT r.thread_id FROM event_relations r"
            " WHERE r.stream_ordering = event_push_actions.stream_ordering)"
            " WHERE stream_ordering IN"
            " (SELECT stream_ordering FROM event_relations WHERE thread_id IS NOT NULL)"
        )
    )
