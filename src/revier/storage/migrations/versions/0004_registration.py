"""Registration: registration tokens, guest accounts, the token a UIA session used.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registration_tokens",
        sa.Column("token_id", sa.Text, primary_key=True),
        sa.Column("token_hash", sa.LargeBinary, nullable=False),
        sa.Column("tenant", sa.Text, nullable=False),
        sa.Column("uses_allowed", sa.Integer),
        sa.Column("pending", sa.Integer, nullable=False, server_default="0"),
        sa.Column("completed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("expiry_time", sa.BigInteger),
        sa.Column("created_ts", sa.BigInteger, nullable=False),
        sa.Column("displayname_pattern", sa.Text),
        sa.Column("max_devices", sa.Integer),
    )
    op.create_index("registration_tokens_hash", "registration_tokens", ["token_hash"], unique=True)
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("is_guest", sa.Boolean, nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("uia_sessions") as batch:
        batch.add_column(sa.Column("registration_token_id", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("uia_sessions") as batch:
        batch.drop_column("registration_token_id")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("is_guest")
    op.drop_index("registration_tokens_hash", "registration_tokens")
    op.drop_table("registration_tokens")
