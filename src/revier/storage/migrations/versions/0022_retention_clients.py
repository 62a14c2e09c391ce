"""Retention and client requirements: each device's client (name and version from
its last User-Agent, nothing else of it), and an index that lets the retention
purge delete push actions by event position.

Existing devices start with no client known; their next request fills it in.

Revision ID: 0022
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("client_name", sa.Text()))
        batch.add_column(sa.Column("client_version", sa.Text()))
    op.create_index("event_push_actions_stream", "event_push_actions", ["stream_ordering"])


def downgrade() -> None:
    op.drop_index("event_push_actions_stream", table_name="event_push_actions")
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("client_version")
        batch.drop_column("client_name")
