"""Notifications per event: a message that notifies its members the common way
writes one row (``event_notifications``), not one per member; the members it
treats otherwise keep rows of their own (``event_push_actions``, now with
``notify`` false for those it leaves out); read positions per member, room and
thread (``notification_reads``) say which shared rows are read.

Existing rows stay what they are: each a notification of one member
(``notify`` true).

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_notifications",
        sa.Column("room_id", sa.Text(), nullable=False),
        sa.Column("stream_ordering", sa.BigInteger(), nullable=False),
        sa.Column("sender", sa.Text(), nullable=False),
        sa.Column("thread_id", sa.Text()),
        sa.PrimaryKeyConstraint("room_id", "stream_ordering"),
    )
    op.create_index("event_notifications_stream", "event_notifications", ["stream_ordering"])
    op.create_table(
        "notification_reads",
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("room_id", sa.Text(), nullable=False),
        sa.Column("thread_key", sa.Text(), nullable=False),
        sa.Column("upto", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "room_id", "thread_key"),
        sqlite_with_rowid=False,
    )
    # A plain ADD COLUMN on both engines: SQLite's batch mode would rebuild the
    # table from its reflection and lose WITHOUT ROWID (0008).
    op.add_column(
        "event_push_actions",
        sa.Column("notify", sa.Boolean(), nullable=False, server_default=sa.true()),
    )


def downgrade() -> None:
    # Shared rows can't become rows per member without the memberships of their
    # time: they are dropped, and with them what they counted.
    op.execute("DELETE FROM event_push_actions WHERE NOT notify")
    op.drop_column("event_push_actions", "notify")
    op.drop_table("notification_reads")
    op.drop_index("event_notifications_stream", table_name="event_notifications")
    op.drop_table("event_notifications")
