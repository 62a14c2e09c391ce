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
)

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
