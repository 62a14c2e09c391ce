"""Media: uploaded content and its thumbnails (the bytes live in the media store).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "media",
        sa.Column("server_name", sa.Text(), nullable=False),
        sa.Column("media_id", sa.Text(), nullable=False),
        sa.Column("uploader", sa.Text(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=True),
        sa.Column("upload_name", sa.Text(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.Text(), nullable=True),
        sa.Column("created_ts", sa.BigInteger(), nullable=False),
        sa.Column("unused_expires_ts", sa.BigInteger(), nullable=True),
        sa.Column("quarantined", sa.Boolean(), nullable=False),
        sa.Column("storage_key", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("server_name", "media_id"),
    )
    op.create_index("media_uploader", "media", ["uploader"])
    op.create_table(
        "media_thumbnails",
        sa.Column("server_name", sa.Text(), nullable=False),
        sa.Column("media_id", sa.Text(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("storage_key", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("server_name", "media_id", "width", "height", "method"),
    )


def downgrade() -> None:
    op.drop_table("media_thumbnails")
    op.drop_index("media_uploader", table_name="media")
    op.drop_table("media")
