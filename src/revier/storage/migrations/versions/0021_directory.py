"""The directory: ``directory_accounts`` marks the accounts a directory (LDAP,
SCIM) manages, ``scim_tokens`` holds the hashes of issued SCIM tokens. Existing
accounts are made by hand: no rows.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "directory_accounts",
        sa.Column("user_id", sa.Text(), primary_key=True),
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=False),
        sa.Column("last_seen_ts", sa.BigInteger(), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "directory_accounts_external",
        "directory_accounts",
        ["tenant", "source", "external_id"],
        unique=True,
    )
    op.create_table(
        "scim_tokens",
        sa.Column("token_hash", sa.LargeBinary(), primary_key=True),
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("created_ts", sa.BigInteger(), nullable=False),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("scim_tokens")
    op.drop_index("directory_accounts_external", table_name="directory_accounts")
    op.drop_table("directory_accounts")
