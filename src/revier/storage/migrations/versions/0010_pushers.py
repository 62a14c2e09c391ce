"""Pushers, duty hours set by the organisation, and pushes held back off duty.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pushers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("device_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("app_id", sa.Text(), nullable=False),
        sa.Column("pushkey", sa.Text(), nullable=False),
        sa.Column("pushkey_ts", sa.BigInteger(), nullable=False),
        sa.Column("app_display_name", sa.Text(), nullable=False),
        sa.Column("device_display_name", sa.Text(), nullable=False),
        sa.Column("profile_tag", sa.Text(), nullable=True),
        sa.Column("lang", sa.Text(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("last_stream_ordering", sa.BigInteger(), nullable=False),
        sa.Column("last_success_ts", sa.BigInteger(), nullable=True),
        sa.Column("last_failure_ts", sa.BigInteger(), nullable=True),
        sa.Column("failing_since", sa.BigInteger(), nullable=True),
        sa.Column("duty_push_for", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "app_id", "pushkey", name="pushers_user_app_pushkey"),
    )
    op.create_index("pushers_app_pushkey", "pushers", ["app_id", "pushkey"])
    op.create_table(
        "duty_schedules",
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("schedule", sa.Text(), nullable=True),
        sa.Column("override", sa.Text(), nullable=True),
        sa.Column("updated_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "user_id"),
    )
    op.create_table(
        "pushes_held",
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("since_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )


def downgrade() -> None:
    op.drop_table("pushes_held")
    op.drop_table("duty_schedules")
    op.drop_index("pushers_app_pushkey", table_name="pushers")
    op.drop_table("pushers")
