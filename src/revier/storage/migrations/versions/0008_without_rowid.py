"""Lean rows for the tables every message writes to.

A message writes one ``event_push_actions`` row per notified member, an
``event_edges`` row and an ``event_txns`` row. On SQLite each of those tables
was a rowid table plus its primary-key index, and the push actions had an
index more: three B-tree inserts per notified member. As WITHOUT ROWID
tables the primary key is the table, one insert per row. The push actions'
key becomes the one their only query reads, (user, room, stream position);
the event ID they carried was never read (the position names the event).
PostgreSQL gets the same keys and loses the extra index.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


_PUSH_ACTIONS = "user_id, room_id, stream_ordering, highlight"


def _rebuild(name: str, columns: list[sa.Column[object]], key: list[str], copy: str) -> None:
    """SQLite can't change a table's kind in place: copy it into a new one."""
    op.create_table(f"{name}_new", *columns, sa.PrimaryKeyConstraint(*key), sqlite_with_rowid=False)
    op.execute(f"INSERT INTO {name}_new ({copy}) SELECT {copy} FROM {name}")
    op.drop_table(name)
    op.rename_table(f"{name}_new", name)


def upgrade() -> None:
    op.drop_index("event_push_actions_unread", table_name="event_push_actions")
    if op.get_bind().dialect.name != "sqlite":
        # PostgreSQL tables have no rowid: only the push actions' key changes.
        op.drop_constraint("event_push_actions_pkey", "event_push_actions", type_="primary")
        op.drop_column("event_push_actions", "event_id")
        op.create_primary_key(
            "event_push_actions_pkey",
            "event_push_actions",
            ["user_id", "room_id", "stream_ordering"],
        )
        return
    _rebuild(
        "event_push_actions",
        [
            sa.Column("user_id", sa.Text(), nullable=False),
            sa.Column("room_id", sa.Text(), nullable=False),
            sa.Column("stream_ordering", sa.BigInteger(), nullable=False),
            sa.Column("highlight", sa.Boolean(), nullable=False),
        ],
        ["user_id", "room_id", "stream_ordering"],
        _PUSH_ACTIONS,
    )
    _rebuild(
        "event_edges",
        [
            sa.Column("event_id", sa.Text(), nullable=False),
            sa.Column("prev_event_id", sa.Text(), nullable=False),
        ],
        ["event_id", "prev_event_id"],
        "event_id, prev_event_id",
    )
    _rebuild(
        "event_txns",
        [
            sa.Column("user_id", sa.Text(), nullable=False),
            sa.Column("device_id", sa.Text(), nullable=False),
            sa.Column("txn_id", sa.Text(), nullable=False),
            sa.Column("event_id", sa.Text(), nullable=False),
            sa.Column("created_ts", sa.BigInteger(), nullable=False),
        ],
        ["user_id", "device_id", "txn_id"],
        "user_id, device_id, txn_id, event_id, created_ts",
    )


def downgrade() -> None:
    # The push actions get their event IDs back from the events they name;
    # the tables stay WITHOUT ROWID on SQLite, which 0007 works with as well.
    op.add_column("event_push_actions", sa.Column("event_id", sa.Text(), nullable=True))
    op.execute(
        "UPDATE event_push_actions SET event_id = (SELECT e.event_id FROM events e"
        " WHERE e.stream_ordering = event_push_actions.stream_ordering)"
    )
    op.create_index(
        "event_push_actions_unread",
        "event_push_actions",
        ["user_id", "room_id", "stream_ordering"],
    )
