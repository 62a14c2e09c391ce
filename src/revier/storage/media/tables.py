"""The media wing's tables (see ``revier.storage.schema``)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
)

from revier.storage.metadata import metadata

# Uploaded media (the bytes live in the media store under ``storage_key``). A
# row with ``size`` NULL is an ID reserved by POST /media/v1/create whose
# content has not arrived yet; it expires at ``unused_expires_ts``.
media = Table(
    "media",
    metadata,
    Column("server_name", Text, nullable=False),
    Column("media_id", Text, nullable=False),
    Column("uploader", Text, nullable=False),
    Column("content_type", Text),
    Column("upload_name", Text),
    Column("size", BigInteger),
    Column("sha256", Text),
    Column("created_ts", BigInteger, nullable=False),
    Column("unused_expires_ts", BigInteger),
    # Quarantined media is served to nobody (an admin decision; the bytes are kept as evidence).
    Column("quarantined", Boolean, nullable=False, default=False),
    Column("storage_key", Text, nullable=False),
    PrimaryKeyConstraint("server_name", "media_id"),
)
Index("media_uploader", media.c.uploader)
# Reservations whose content never came (upload finished: NULL, not in range).
Index("media_unused_expires", media.c.unused_expires_ts)

# Thumbnails, generated once per (size, method) and kept like media.
media_thumbnails = Table(
    "media_thumbnails",
    metadata,
    Column("server_name", Text, nullable=False),
    Column("media_id", Text, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("method", Text, nullable=False),
    Column("content_type", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("storage_key", Text, nullable=False),
    PrimaryKeyConstraint("server_name", "media_id", "width", "height", "method"),
)
