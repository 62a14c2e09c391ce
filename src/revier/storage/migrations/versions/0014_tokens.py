"""Expiring access tokens, refresh tokens, OpenID and login tokens.

``access_tokens`` gains an expiry (NULL for every existing token: they keep
never expiring) and its link to a refresh token; ``refresh_tokens`` and
``short_tokens`` (OpenID tokens, m.login.token login tokens) are new and empty.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("access_tokens") as batch:
        batch.add_column(sa.Column("expires_ts", sa.BigInteger()))
        batch.add_column(sa.Column("refresh_hash", sa.LargeBinary()))
        batch.add_column(sa.Column("retires_refresh", sa.LargeBinary()))
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.LargeBinary(), primary_key=True),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("device_id", sa.Text(), nullable=False),
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("created_ts", sa.BigInteger(), nullable=False),
        sa.Column("next_hash", sa.LargeBinary()),
        sqlite_with_rowid=False,
    )
    op.create_index("refresh_tokens_device", "refresh_tokens", ["user_id", "device_id"])
    op.create_table(
        "short_tokens",
        sa.Column("token_hash", sa.LargeBinary(), primary_key=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("expires_ts", sa.BigInteger(), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_index("short_tokens_expiry", "short_tokens", ["expires_ts"])


def downgrade() -> None:
    op.drop_index("short_tokens_expiry", table_name="short_tokens")
    op.drop_table("short_tokens")
    op.drop_index("refresh_tokens_device", table_name="refresh_tokens")
    op.drop_table("refresh_tokens")
    with op.batch_alter_table("access_tokens") as batch:
        batch.drop_column("retires_refresh")
        batch.drop_column("refresh_hash")
        batch.drop_column("expires_ts")
