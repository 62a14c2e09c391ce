"""An index for the reservations (POST /media/v1/create) whose content never came:
every create purges the expired ones, which without it read the whole media table.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("media_unused_expires", "media", ["unused_expires_ts"])


def downgrade() -> None:
    op.drop_index("media_unused_expires", table_name="media")
