"""Second factors and the sign-in lockout (issue 19): ``second_factors`` (TOTP,
sealed; WebAuthn public keys), ``recovery_codes`` (keyed hashes),
``webauthn_challenges`` (single use, expiring) and ``signin_failures`` (failed
password and code attempts per account and per address). All start empty.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "second_factors",
        sa.Column("factor_id", sa.Text(), primary_key=True),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=False),
        sa.Column("credential_id", sa.LargeBinary()),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("last_step", sa.BigInteger()),
        sa.Column("created_ts", sa.BigInteger(), nullable=False),
        sa.Column("last_used_ts", sa.BigInteger()),
    )
    op.create_index("second_factors_user", "second_factors", ["user_id"])
    op.create_index("second_factors_credential", "second_factors", ["credential_id"], unique=True)
    op.create_table(
        "recovery_codes",
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(), nullable=False),
        sa.Column("created_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "code_hash"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "webauthn_challenges",
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("challenge", sa.LargeBinary(), nullable=False),
        sa.Column("expires_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "purpose"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "signin_failures",
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("code_failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_ts", sa.BigInteger(), nullable=False),
        sa.Column("locked_ts", sa.BigInteger()),
        sa.PrimaryKeyConstraint("tenant", "subject"),
        sqlite_with_rowid=False,
    )
    op.create_index("signin_failures_last", "signin_failures", ["last_failure_ts"])


def downgrade() -> None:
    op.drop_index("signin_failures_last", table_name="signin_failures")
    op.drop_table("signin_failures")
    op.drop_table("webauthn_challenges")
    op.drop_table("recovery_codes")
    op.drop_index("second_factors_credential", table_name="second_factors")
    op.drop_index("second_factors_user", table_name="second_factors")
    op.drop_table("second_factors")
