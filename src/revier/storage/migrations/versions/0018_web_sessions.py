"""Browser sessions of the sign-in and account pages (``web_sessions``, the
signin wing). A new table: nobody is signed in in a browser yet.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("session_hash", sa.LargeBinary(), primary_key=True),
        sa.Column("session_id", sa.Text(), nullable=False, unique=True),
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("factors", sa.Text(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("password_tag", sa.LargeBinary(), nullable=False),
        sa.Column("authenticated_ts", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_ts", sa.BigInteger(), nullable=False),
        sa.Column("expires_ts", sa.BigInteger(), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_index("web_sessions_user", "web_sessions", ["user_id"])
    op.create_index("web_sessions_expiry", "web_sessions", ["expires_ts"])


def downgrade() -> None:
    op.drop_index("web_sessions_expiry", table_name="web_sessions")
    op.drop_index("web_sessions_user", table_name="web_sessions")
    op.drop_table("web_sessions")
