"""Rooms, events and the streams clients sync: state, memberships, receipts,
account data, filters, push rules, presence.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_data",
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("room_id", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("stream_ordering", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "room_id", "type"),
    )
    op.create_index(
        "account_data_stream", "account_data", ["user_id", "stream_ordering"], unique=False
    )
    op.create_table(
        "current_state",
        sa.Column("room_id", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("state_key", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("room_id", "type", "state_key"),
    )
    op.create_table(
        "event_edges",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("prev_event_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", "prev_event_id"),
    )
    op.create_table(
        "event_push_actions",
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("room_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("stream_ordering", sa.BigInteger(), nullable=False),
        sa.Column("highlight", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "event_id"),
    )
    op.create_index(
        "event_push_actions_unread",
        "event_push_actions",
        ["user_id", "room_id", "stream_ordering"],
        unique=False,
    )
    op.create_table(
        "event_txns",
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("device_id", sa.Text(), nullable=False),
        sa.Column("txn_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("created_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "device_id", "txn_id"),
    )
    op.create_table(
        "events",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("stream_ordering", sa.BigInteger(), nullable=False),
        sa.Column("room_id", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("state_key", sa.Text(), nullable=True),
        sa.Column("sender", sa.Text(), nullable=False),
        sa.Column("depth", sa.BigInteger(), nullable=False),
        sa.Column("origin_server_ts", sa.BigInteger(), nullable=False),
        sa.Column("json", sa.Text(), nullable=False),
        sa.Column("redacted_by", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("event_id"),
        sa.UniqueConstraint("stream_ordering"),
    )
    op.create_index(
        "events_room_state",
        "events",
        ["room_id", "type", "state_key", "stream_ordering"],
        unique=False,
        sqlite_where=sa.text("state_key IS NOT NULL"),
        postgresql_where=sa.text("state_key IS NOT NULL"),
    )
    op.create_index("events_room_stream", "events", ["room_id", "stream_ordering"], unique=False)
    op.create_table(
        "filters",
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("filter_id", sa.Text(), nullable=False),
        sa.Column("json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "filter_id"),
    )
    op.create_table(
        "forward_extremities",
        sa.Column("room_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("room_id", "event_id"),
    )
    op.create_table(
        "memberships",
        sa.Column("room_id", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("membership", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("stream_ordering", sa.BigInteger(), nullable=False),
        sa.Column("forgotten", sa.Boolean(), nullable=False),
        sa.Column("displayname", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("room_id", "user_id"),
    )
    op.create_index("memberships_user", "memberships", ["user_id", "membership"], unique=False)
    op.create_table(
        "presence",
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("presence", sa.Text(), nullable=False),
        sa.Column("status_msg", sa.Text(), nullable=True),
        sa.Column("last_active_ts", sa.BigInteger(), nullable=False),
        sa.Column("stream_ordering", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_index("presence_stream", "presence", ["stream_ordering"], unique=False)
    op.create_table(
        "push_rule_overrides",
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("rule_id", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=True),
        sa.Column("actions", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", "rule_id"),
    )
    op.create_table(
        "push_rules",
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("rule_id", sa.Text(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "kind", "rule_id"),
    )
    op.create_table(
        "receipts",
        sa.Column("room_id", sa.Text(), nullable=False),
        sa.Column("receipt_type", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("thread_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("event_stream_ordering", sa.BigInteger(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("stream_ordering", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("room_id", "receipt_type", "user_id", "thread_id"),
    )
    op.create_index("receipts_stream", "receipts", ["stream_ordering"], unique=False)
    op.create_table(
        "room_aliases",
        sa.Column("room_alias", sa.Text(), nullable=False),
        sa.Column("room_id", sa.Text(), nullable=False),
        sa.Column("creator", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("room_alias"),
    )
    op.create_index("room_aliases_room", "room_aliases", ["room_id"], unique=False)
    op.create_table(
        "rooms",
        sa.Column("room_id", sa.Text(), nullable=False),
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("room_version", sa.Text(), nullable=False),
        sa.Column("creator", sa.Text(), nullable=False),
        sa.Column("created_ts", sa.BigInteger(), nullable=False),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("room_id"),
    )
    op.create_table(
        "stream_counter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(
        sa.table(
            "stream_counter", sa.column("id", sa.Integer), sa.column("position", sa.BigInteger)
        ),
        [{"id": 1, "position": 1}],
    )
