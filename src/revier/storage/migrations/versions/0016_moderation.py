"""Account moderation and content reports: ``users.locked`` and
``users.suspended`` (spec "Account locking", "Account suspension"), and
``content_reports`` (spec module "Reporting content") for the tenant's admins.
Existing accounts start neither locked nor suspended; there are no reports yet.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("locked", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("suspended", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "content_reports",
        sa.Column(
            "report_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
        ),
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("reporter", sa.Text(), nullable=False),
        sa.Column("room_id", sa.Text()),
        sa.Column("event_id", sa.Text()),
        sa.Column("target_user_id", sa.Text()),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("received_ts", sa.BigInteger(), nullable=False),
        sa.Column("resolved_ts", sa.BigInteger()),
        sa.Column("resolved_by", sa.Text()),
    )
    op.create_index("content_reports_tenant", "content_reports", ["tenant", "report_id"])


def downgrade() -> None:
    op.drop_index("content_reports_tenant", table_name="content_reports")
    op.drop_table("content_reports")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("suspended")
        batch.drop_column("locked")
