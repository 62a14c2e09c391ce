"""The OAuth 2.0 API (issue 19, signin wing): client registrations, authorization
codes, device authorization grants and sign-in sessions; and the family of an
OAuth refresh token (accounts' ``refresh_tokens.family``, NULL for every
existing token: they all came from POST /login or /register).

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.add_column(sa.Column("family", sa.LargeBinary()))
    op.create_index("refresh_tokens_family", "refresh_tokens", ["family"])
    op.create_table(
        "oauth_clients",
        sa.Column("client_id", sa.Text(), primary_key=True),
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("client_metadata", sa.Text(), nullable=False),
        sa.Column("created_ts", sa.BigInteger(), nullable=False),
    )
    op.create_index("oauth_clients_created", "oauth_clients", ["created_ts"])
    op.create_table(
        "oauth_codes",
        sa.Column("code_hash", sa.LargeBinary(), primary_key=True),
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("device_id", sa.Text(), nullable=False),
        sa.Column("code_challenge", sa.Text(), nullable=False),
        sa.Column("expires_ts", sa.BigInteger(), nullable=False),
        sa.Column("used_ts", sa.BigInteger()),
        sa.Column("family", sa.LargeBinary()),
        sqlite_with_rowid=False,
    )
    op.create_index("oauth_codes_expiry", "oauth_codes", ["expires_ts"])
    op.create_table(
        "oauth_device_grants",
        sa.Column("device_code_hash", sa.LargeBinary(), primary_key=True),
        sa.Column("user_code_hash", sa.LargeBinary(), nullable=False),
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("device_id", sa.Text(), nullable=False),
        sa.Column("expires_ts", sa.BigInteger(), nullable=False),
        sa.Column("last_poll_ts", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text()),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "oauth_device_grants_user_code", "oauth_device_grants", ["user_code_hash"], unique=True
    )
    op.create_index("oauth_device_grants_expiry", "oauth_device_grants", ["expires_ts"])
    op.create_table(
        "oauth_sessions",
        sa.Column("family", sa.LargeBinary(), primary_key=True),
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("device_id", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("created_ts", sa.BigInteger(), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_index("oauth_sessions_device", "oauth_sessions", ["user_id", "device_id"])


def downgrade() -> None:
    op.drop_index("oauth_sessions_device", table_name="oauth_sessions")
    op.drop_table("oauth_sessions")
    op.drop_index("oauth_device_grants_expiry", table_name="oauth_device_grants")
    op.drop_index("oauth_device_grants_user_code", table_name="oauth_device_grants")
    op.drop_table("oauth_device_grants")
    op.drop_index("oauth_codes_expiry", table_name="oauth_codes")
    op.drop_table("oauth_codes")
    op.drop_index("oauth_clients_created", table_name="oauth_clients")
    op.drop_table("oauth_clients")
    op.drop_index("refresh_tokens_family", table_name="refresh_tokens")
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.drop_column("family")
