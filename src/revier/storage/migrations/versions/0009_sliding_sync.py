"""Simplified sliding sync: a room's bump stamp, and the state of each connection.

``rooms.bump_stamp`` is the stream position of the room's newest event of a
kind a person would notice (a message, an encrypted event, a sticker, a call
invite, a poll, a live location, the creation): sliding sync orders room lists
by it, so a room doesn't climb for a reaction or a state change. The event
writer keeps it current; this migration computes it for existing rooms.

``sliding_sync_snapshots`` holds what each sliding-sync connection (user,
device, conn_id) has been sent, one row per position the client may present.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# As in services/rooms/room_events.py at this revision; a migration keeps its own copy.
_BUMP_TYPES = (
    "m.room.create",
    "m.room.message",
    "m.room.encrypted",
    "m.sticker",
    "m.call.invite",
    "m.poll.start",
    "m.beacon_info",
)


def upgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("bump_stamp", sa.BigInteger(), nullable=True))
    types = ", ".join(f"'{t}'" for t in _BUMP_TYPES)
    op.execute(
        "UPDATE rooms SET bump_stamp = (SELECT MAX(e.stream_ordering) FROM events e "
        f"WHERE e.room_id = rooms.room_id AND e.type IN ({types}))"
    )
    op.create_table(
        "sliding_sync_snapshots",
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("device_id", sa.Text(), nullable=False),
        sa.Column("conn_id", sa.Text(), nullable=False),
        sa.Column("snapshot", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("used_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "device_id", "conn_id", "snapshot"),
    )
    op.create_index("sliding_sync_snapshots_used", "sliding_sync_snapshots", ["used_ts"])


def downgrade() -> None:
    op.drop_index("sliding_sync_snapshots_used", table_name="sliding_sync_snapshots")
    op.drop_table("sliding_sync_snapshots")
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("bump_stamp")
