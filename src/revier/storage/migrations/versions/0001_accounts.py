"""Accounts, devices, access tokens and user-interactive auth sessions.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("user_id", sa.Text, primary_key=True),
        sa.Column("tenant", sa.Text, nullable=False),
        sa.Column("localpart", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text),
        sa.Column("is_admin", sa.Boolean, nullable=False),
        sa.Column("deactivated", sa.Boolean, nullable=False),
        sa.Column("created_ts", sa.BigInteger, nullable=False),
        sa.Column("displayname", sa.Text),
        sa.Column("avatar_url", sa.Text),
        sa.Column("max_devices", sa.Integer),
    )
    op.create_index("users_tenant_localpart", "users", ["tenant", "localpart"], unique=True)
    op.create_table(
        "devices",
        sa.Column("user_id", sa.Text, nullable=False),
        sa.Column("device_id", sa.Text, nullable=False),
        sa.Column("display_name", sa.Text),
        sa.Column("created_ts", sa.BigInteger, nullable=False),
        sa.Column("last_seen_ts", sa.BigInteger),
        sa.Column("last_seen_ip", sa.Text),
        sa.PrimaryKeyConstraint("user_id", "device_id"),
    )
    op.create_table(
        "access_tokens",
        sa.Column("token_hash", sa.LargeBinary, primary_key=True),
        sa.Column("user_id", sa.Text, nullable=False),
        sa.Column("device_id", sa.Text, nullable=False),
        sa.Column("tenant", sa.Text, nullable=False),
        sa.Column("created_ts", sa.BigInteger, nullable=False),
    )
    op.create_index("access_tokens_device", "access_tokens", ["user_id", "device_id"])
    op.create_table(
        "uia_sessions",
        sa.Column("session_id", sa.Text, primary_key=True),
        sa.Column("user_id", sa.Text),
        sa.Column("operation", sa.Text, nullable=False),
        sa.Column("completed", sa.Text, nullable=False),
        sa.Column("created_ts", sa.BigInteger, nullable=False),
    )
