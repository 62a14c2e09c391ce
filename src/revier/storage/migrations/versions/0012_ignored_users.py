"""Who ignores whom, as rows: ``ignored_users`` mirrors each user's
``m.ignored_user_list`` account data, so that sending a message finds the
members who ignore its sender (no notification for them) in one index look-up.
Filled here from the lists users have already set.

Revision ID: 0012
Revises: 0009
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ignored_users",
        sa.Column("ignorer_user_id", sa.Text(), nullable=False),
        sa.Column("ignored_user_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("ignorer_user_id", "ignored_user_id"),
        sqlite_with_rowid=False,
    )
    op.create_index("ignored_users_ignored", "ignored_users", ["ignored_user_id"])
    conn = op.get_bind()
    lists = conn.execute(
        sa.text(
            "SELECT user_id, content FROM account_data"
            " WHERE type = 'm.ignored_user_list' AND room_id = ''"
        )
    )
    rows = []
    for user_id, content in lists:
        # As services/core/account_data.py reads a list at this revision.
        try:
            users = json.loads(content).get("ignored_users")
        except (ValueError, AttributeError):
            continue
        if isinstance(users, dict):
            rows += [
                {"ignorer_user_id": user_id, "ignored_user_id": u}
                for u in users
                if isinstance(u, str) and u.startswith("@") and u != user_id
            ]
    if rows:
        table = sa.table(
            "ignored_users", sa.column("ignorer_user_id"), sa.column("ignored_user_id")
        )
        op.bulk_insert(table, rows)


def downgrade() -> None:
    op.drop_index("ignored_users_ignored", table_name="ignored_users")
    op.drop_table("ignored_users")
