"""The notifications wing's tables (see ``revier.storage.schema``)."""

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
    UniqueConstraint,
    true,
)

from revier.storage.metadata import metadata

# Which events notify whom, decided by the push rules when the event is sent
# (``push_actions.py`` tells how the three tables below add up to a count).
#
# One row per message that notifies its members the common way (a notification,
# no highlight: the server-default rules for a member it doesn't name): it
# counts for every member who was joined when it came and still is, except its
# sender and the members with a row of their own for it below.
event_notifications = Table(
    "event_notifications",
    metadata,
    Column("room_id", Text, nullable=False),
    Column("stream_ordering", BigInteger, nullable=False),
    Column("sender", Text, nullable=False),
    # The thread the event is in (its root's event ID); NULL: the main timeline.
    Column("thread_id", Text),
    PrimaryKeyConstraint("room_id", "stream_ordering"),
)

# One row per member whose outcome differs from that (named in the message: a
# highlight; rules of their own; ignoring the sender), and per member an event
# notifies when it has no shared row. ``notify`` false: the member is left out
# of the shared row, nothing more. On SQLite the key is the table (WITHOUT
# ROWID): one B-tree insert per row instead of three.
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
    Column("notify", Boolean, nullable=False, server_default=true()),
    PrimaryKeyConstraint("user_id", "room_id", "stream_ordering"),
    sqlite_with_rowid=False,
)

# How far each member has read each room: ``thread_key`` "" for an unthreaded
# read receipt (and the member's join, and leave), "main" for the main timeline,
# else the thread's root. Shared rows at or below count as read; rows of one's
# own are deleted instead.
notification_reads = Table(
    "notification_reads",
    metadata,
    Column("user_id", Text, nullable=False),
    Column("room_id", Text, nullable=False),
    Column("thread_key", Text, nullable=False),
    Column("upto", BigInteger, nullable=False),
    PrimaryKeyConstraint("user_id", "room_id", "thread_key"),
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

# A user's pushers (spec: "Push notifications", POST /pushers/set): where to send
# the pushes for one app on one device. Bound to the device whose session made it,
# and deleted with it. ``last_stream_ordering`` is how far the sender got: the
# user's push actions after it are what this pusher is still owed (a durable queue
# without a row per push). ``duty_push_for`` is the ``pushes_held.since_ts`` whose
# duty-start push this pusher has had, so a restart sends it once.
pushers = Table(
    "pushers",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("user_id", Text, nullable=False),
    Column("device_id", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("app_id", Text, nullable=False),
    Column("pushkey", Text, nullable=False),
    Column("pushkey_ts", BigInteger, nullable=False),
    Column("app_display_name", Text, nullable=False),
    Column("device_display_name", Text, nullable=False),
    Column("profile_tag", Text),
    Column("lang", Text, nullable=False),
    Column("data", Text, nullable=False),
    Column("last_stream_ordering", BigInteger, nullable=False),
    Column("last_success_ts", BigInteger),
    Column("last_failure_ts", BigInteger),
    Column("failing_since", BigInteger),
    Column("duty_push_for", BigInteger),
    UniqueConstraint("user_id", "app_id", "pushkey", name="pushers_user_app_pushkey"),
)
# POST /pushers/set without append removes other users' pushers of the same pair.
# A purged event's actions (retention), whoever they were for.
Index("event_push_actions_stream", event_push_actions.c.stream_ordering)
# Pushes owed after a position; purged events' rows.
Index("event_notifications_stream", event_notifications.c.stream_ordering)
Index("pushers_app_pushkey", pushers.c.app_id, pushers.c.pushkey)

# Duty hours set by the organisation: one row per user with hours of their own,
# and one per tenant with user_id "" (its default). ``schedule`` is the weekly
# hours as set (JSON), ``override`` an "off duty now" / "on duty now" switch.
duty_schedules = Table(
    "duty_schedules",
    metadata,
    Column("tenant", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("schedule", Text),
    Column("override", Text),
    Column("updated_ts", BigInteger, nullable=False),
    PrimaryKeyConstraint("tenant", "user_id"),
)

# Users whose pushes were held back while they were off duty, since when: at the
# start of their duty each of their pushers gets one push with the counts.
pushes_held = Table(
    "pushes_held",
    metadata,
    Column("user_id", Text, primary_key=True),
    Column("since_ts", BigInteger, nullable=False),
)
