"""The organisation's units (issue 20, part D): ``units`` (a tree per tenant,
each shown as a space room), ``unit_members`` (with a role), ``unit_rooms``
(attached with a rule), ``unit_service_users`` (the account a tenant's units
act as) and the queued room work of units, ``unit_jobs`` with
``unit_job_users``. New tables: nothing to fill from old rows.

Revision ID: 0020
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("unit_id", sa.Text(), primary_key=True),
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text()),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("parent_id", sa.Text()),
        sa.Column("space_room_id", sa.Text(), nullable=False),
        sa.Column("created_ts", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("tenant", "external_id", name="units_external_id"),
    )
    op.create_index("units_tenant_parent", "units", ["tenant", "parent_id"])
    op.create_table(
        "unit_members",
        sa.Column("unit_id", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("unit_id", "user_id"),
    )
    op.create_index("unit_members_user", "unit_members", ["user_id"])
    op.create_table(
        "unit_rooms",
        sa.Column("unit_id", sa.Text(), nullable=False),
        sa.Column("room_id", sa.Text(), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("unit_id", "room_id"),
    )
    op.create_index("unit_rooms_room", "unit_rooms", ["room_id"])
    op.create_table(
        "unit_service_users",
        sa.Column("tenant", sa.Text(), primary_key=True),
        sa.Column("user_id", sa.Text(), nullable=False),
    )
    op.create_table(
        "unit_jobs",
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("unit_id", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("rooms", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("users_total", sa.Integer(), nullable=False),
        sa.Column("created_ts", sa.BigInteger(), nullable=False),
        sa.Column("completed_ts", sa.BigInteger()),
    )
    op.create_index("unit_jobs_pending", "unit_jobs", ["tenant", "completed_ts", "job_id"])
    op.create_table(
        "unit_job_users",
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "user_id"),
    )


def downgrade() -> None:
    op.drop_table("unit_job_users")
    op.drop_index("unit_jobs_pending", table_name="unit_jobs")
    op.drop_table("unit_jobs")
    op.drop_table("unit_service_users")
    op.drop_index("unit_rooms_room", table_name="unit_rooms")
    op.drop_table("unit_rooms")
    op.drop_index("unit_members_user", table_name="unit_members")
    op.drop_table("unit_members")
    op.drop_index("units_tenant_parent", table_name="units")
    op.drop_table("units")
