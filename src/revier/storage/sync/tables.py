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

# What each sliding-sync connection (user, device, conn_id) has been sent: one row per
# position (``snapshot``) the client may present next, ``state`` as JSON
# (services/sync/sliding_connections.py). ``used_ts`` dates the last request
# presenting it: idle connections expire.
sliding_sync_snapshots = Table(
    "sliding_sync_snapshots",
    metadata,
    Column("user_id", Text, nullable=False),
    Column("device_id", Text, nullable=False),
    Column("conn_id", Text, nullable=False),
    Column("snapshot", BigInteger, nullable=False),
    Column("state", Text, nullable=False),
    Column("used_ts", BigInteger, nullable=False),
    PrimaryKeyConstraint("user_id", "device_id", "conn_id", "snapshot"),
)
Index("sliding_sync_snapshots_used", sliding_sync_snapshots.c.used_ts)
