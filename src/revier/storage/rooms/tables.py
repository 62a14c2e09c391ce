"""The rooms wing's tables (see ``revier.storage.schema``)."""

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
    false,
)

from revier.storage.metadata import metadata

rooms = Table(
    "rooms",
    metadata,
    Column("room_id", Text, primary_key=True),
    Column("tenant", Text, nullable=False),
    Column("room_version", Text, nullable=False),
    Column("creator", Text, nullable=False),
    Column("created_ts", BigInteger, nullable=False),
    # Listed in the public room directory.
    Column("is_public", Boolean, nullable=False, default=False),
    # The stream position of the newest event a person would notice (a message,
    # not a reaction or a state change): sliding sync orders room lists by it.
    Column("bump_stamp", BigInteger),
)

# Every event as the full PDU (hashes, signatures, prev/auth events, depth).
events = Table(
    "events",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("stream_ordering", BigInteger, nullable=False, unique=True),
    Column("room_id", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("state_key", Text),
    Column("sender", Text, nullable=False),
    Column("depth", BigInteger, nullable=False),
    Column("origin_server_ts", BigInteger, nullable=False),
    Column("json", Text, nullable=False),
    # Set once a redaction applies; the stored JSON is then the redacted form.
    Column("redacted_by", Text),
    # Some event names this one as its parent (a row in event_relations, maybe
    # redacted since): only such events are looked up for bundled aggregations,
    # so a page of events without children costs no query for them.
    Column("has_children", Boolean, nullable=False, server_default=false()),
)
Index("events_room_stream", events.c.room_id, events.c.stream_ordering)
# The event nearest a moment (GET /timestamp_to_event, "jump to date").
Index("events_room_ts", events.c.room_id, events.c.origin_server_ts)
# The state at any event is the latest state event per (type, state_key) at
# or before it: this index answers that for one key or the whole room.
Index(
    "events_room_state",
    events.c.room_id,
    events.c.type,
    events.c.state_key,
    events.c.stream_ordering,
    sqlite_where=events.c.state_key.isnot(None),
    postgresql_where=events.c.state_key.isnot(None),
)

# Child events and their parents ("Forming relationships between events"): one row
# per event whose m.relates_to has a rel_type and counts under the spec's rules
# (same room, a valid edit, ...). A redacted child loses its row.
event_relations = Table(
    "event_relations",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("relates_to_id", Text, nullable=False),
    Column("rel_type", Text, nullable=False),
    Column("room_id", Text, nullable=False),
    Column("sender", Text, nullable=False),
    Column("type", Text, nullable=False),
    # An annotation's key (the reaction); NULL for other relations.
    Column("aggregation_key", Text),
    # The thread the child is in (its root's event ID); NULL: the main timeline.
    Column("thread_id", Text),
    Column("stream_ordering", BigInteger, nullable=False),
)
# A parent's children of one type in stream order: bundling, /relations, threads.
Index(
    "event_relations_parent",
    event_relations.c.relates_to_id,
    event_relations.c.rel_type,
    event_relations.c.stream_ordering,
)

# Each thread of a room with its newest reply: GET /threads lists them by it.
threads = Table(
    "threads",
    metadata,
    Column("room_id", Text, nullable=False),
    Column("thread_id", Text, nullable=False),
    Column("latest_event_id", Text, nullable=False),
    Column("stream_ordering", BigInteger, nullable=False),
    PrimaryKeyConstraint("room_id", "thread_id"),
)
Index("threads_room_latest", threads.c.room_id, threads.c.stream_ordering)

# The event graph: an event's prev_events (federation walks it).
event_edges = Table(
    "event_edges",
    metadata,
    Column("event_id", Text, nullable=False),
    Column("prev_event_id", Text, nullable=False),
    PrimaryKeyConstraint("event_id", "prev_event_id"),
    sqlite_with_rowid=False,
)

# The events no other event points to yet: the next event's prev_events.
forward_extremities = Table(
    "forward_extremities",
    metadata,
    Column("room_id", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    PrimaryKeyConstraint("room_id", "event_id"),
)

current_state = Table(
    "current_state",
    metadata,
    Column("room_id", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("state_key", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    PrimaryKeyConstraint("room_id", "type", "state_key"),
)

# Each user's current membership per room (a projection of current_state).
memberships = Table(
    "memberships",
    metadata,
    Column("room_id", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("membership", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("stream_ordering", BigInteger, nullable=False),
    Column("forgotten", Boolean, nullable=False, default=False),
    # From the member event: push rules match on it for every message.
    Column("displayname", Text),
    PrimaryKeyConstraint("room_id", "user_id"),
)
Index("memberships_user", memberships.c.user_id, memberships.c.membership)

# Transaction IDs: a retried send returns the first answer and stores nothing twice.
event_txns = Table(
    "event_txns",
    metadata,
    Column("user_id", Text, nullable=False),
    Column("device_id", Text, nullable=False),
    Column("txn_id", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("created_ts", BigInteger, nullable=False),
    PrimaryKeyConstraint("user_id", "device_id", "txn_id"),
    sqlite_with_rowid=False,
)

room_aliases = Table(
    "room_aliases",
    metadata,
    Column("room_alias", Text, primary_key=True),
    Column("room_id", Text, nullable=False),
    Column("creator", Text, nullable=False),
)
Index("room_aliases_room", room_aliases.c.room_id)

receipts = Table(
    "receipts",
    metadata,
    Column("room_id", Text, nullable=False),
    Column("receipt_type", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    # "" for the unthreaded/main receipt.
    Column("thread_id", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("event_stream_ordering", BigInteger, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("stream_ordering", BigInteger, nullable=False),
    PrimaryKeyConstraint("room_id", "receipt_type", "user_id", "thread_id"),
)
Index("receipts_stream", receipts.c.stream_ordering)

# Closed rooms (a row = closed: nobody may join again). ``completed_ts`` is NULL
# while members are still being removed (or, with ``purge``, the room's data
# deleted); a restart resumes those.
room_closures = Table(
    "room_closures",
    metadata,
    Column("room_id", Text, primary_key=True),
    Column("tenant", Text, nullable=False),
    Column("closed_by", Text, nullable=False),
    Column("closed_ts", BigInteger, nullable=False),
    Column("reason", Text),
    Column("purge", Boolean, nullable=False, default=False),
    Column("completed_ts", BigInteger),
)

# Content reports (spec module "Reporting content"), for the tenant's admins.
# What was reported and by whom, never the content: an event report names the
# event, its room and its sender. ``kind`` is "event", "room" or "user".
content_reports = Table(
    "content_reports",
    metadata,
    Column("report_id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("tenant", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("reporter", Text, nullable=False),
    Column("room_id", Text),
    Column("event_id", Text),
    # The reported user, or the sender of the reported event.
    Column("target_user_id", Text),
    Column("reason", Text, nullable=False),
    Column("received_ts", BigInteger, nullable=False),
    Column("resolved_ts", BigInteger),
    # A user ID, or "cli:<os user>".
    Column("resolved_by", Text),
)
Index("content_reports_tenant", content_reports.c.tenant, content_reports.c.report_id)
