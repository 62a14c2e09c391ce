"""The notifications wing's tables (see ``revier.storage.schema``)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Integer, PrimaryKeyConstraint, Table, Text

from revier.storage.metadata import metadata

# Which events notify whom, decided by the push rules when the event is sent.
# One row per member an event notifies (unread counts, push later). Every
# message writes as many, so on SQLite the key is the table (WITHOUT ROWID):
# one B-tree insert per row instead of three. The stream position names the event.
event_push_actions = Table(
    "event_push_actions",
    metadata,
    Column("user_id", Text, nullable=False),
    Column("room_id", Text, nullable=False),
    Column("stream_ordering", BigInteger, nullable=False),
    Column("highlight", Boolean, nullable=False),
    # The thread the event is in (its root's event ID); NULL: the main timeline.
    # Threaded read receipts clear one thread's rows; /sync counts per thread.
    Column("thread_id", Text),
    PrimaryKeyConstraint("user_id", "room_id", "stream_ordering"),
    sqlite_with_rowid=False,
)

# A user's own push rules, and their overrides of the server-default rules.
push_rules = Table(
    "push_rules",
    metadata,
    Column("user_id", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("rule_id", Text, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("json", Text, nullable=False),
    PrimaryKeyConstraint("user_id", "kind", "rule_id"),
)

push_rule_overrides = Table(
    "push_rule_overrides",
    metadata,
    Column("user_id", Text, nullable=False),
    Column("rule_id", Text, nullable=False),
    Column("enabled", Boolean),
    Column("actions", Text),
    PrimaryKeyConstraint("user_id", "rule_id"),
)
