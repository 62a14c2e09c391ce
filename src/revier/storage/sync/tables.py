"""The sync wing's tables (see ``revier.storage.schema``)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, PrimaryKeyConstraint, Table, Text

from revier.storage.metadata import metadata

filters = Table(
    "filters",
    metadata,
    Column("user_id", Text, nullable=False),
    Column("filter_id", Text, nullable=False),
    Column("json", Text, nullable=False),
    PrimaryKeyConstraint("user_id", "filter_id"),
)

presence = Table(
    "presence",
    metadata,
    Column("user_id", Text, primary_key=True),
    Column("presence", Text, nullable=False),
    Column("status_msg", Text),
    Column("last_active_ts", BigInteger, nullable=False),
    Column("stream_ordering", BigInteger, nullable=False),
)
Index("presence_stream", presence.c.stream_ordering)
