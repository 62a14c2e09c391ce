"""An index on a room's events by their timestamp: GET /timestamp_to_event finds the
event nearest a moment in one index range instead of reading the whole room.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("events_room_ts", "events", ["room_id", "origin_server_ts"])


def downgrade() -> None:
    op.drop_index("events_room_ts", table_name="events")
