"""The tables, as SQLAlchemy Core metadata.

This describes the schema the newest migration produces; the migrations under
``migrations/versions`` are what create it. Columns holding Matrix values use
the spec's names. Timestamps are milliseconds since the epoch, like the
protocol's ``origin_server_ts``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
)

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("user_id", Text, primary_key=True),
    Column("tenant", Text, nullable=False),
    Column("localpart", Text, nullable=False),
    # Argon2id; NULL once the account is deactivated.
    Column("password_hash", Text),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("deactivated", Boolean, nullable=False, default=False),
    Column("created_ts", BigInteger, nullable=False),
    Column("displayname", Text),
    Column("avatar_url", Text),
    # Overrides the tenant's max_devices_per_user for this user when set.
    Column("max_devices", Integer),
    # A guest account (spec module "Guest access"): few endpoints, no password.
    Column("is_guest", Boolean, nullable=False, default=False),
)
Index("users_tenant_localpart", users.c.tenant, users.c.localpart, unique=True)

devices = Table(
    "devices",
    metadata,
    Column("user_id", Text, nullable=False),
    Column("device_id", Text, nullable=False),
    Column("display_name", Text),
    Column("created_ts", BigInteger, nullable=False),
    Column("last_seen_ts", BigInteger),
    Column("last_seen_ip", Text),
    PrimaryKeyConstraint("user_id", "device_id"),
)

access_tokens = Table(
    "access_tokens",
    metadata,
    # HMAC-SHA256 of the token under the installation's token key: a stolen
    # database yields no usable token.
    Column("token_hash", LargeBinary, primary_key=True),
    Column("user_id", Text, nullable=False),
    Column("device_id", Text, nullable=False),
    Column("tenant", Text, nullable=False),
    Column("created_ts", BigInteger, nullable=False),
)
Index("access_tokens_device", access_tokens.c.user_id, access_tokens.c.device_id)

uia_sessions = Table(
    "uia_sessions",
    metadata,
    Column("session_id", Text, primary_key=True),
    Column("user_id", Text),
    # The request the session was started for (method + path): a session
    # completed for one operation must not authorise another.
    Column("operation", Text, nullable=False),
    Column("completed", Text, nullable=False, default="[]"),
    Column("created_ts", BigInteger, nullable=False),
    # A registration session that completed m.login.registration_token: which
    # token, so the final request (which doesn't repeat it) can spend a use.
    Column("registration_token_id", Text),
)

registration_tokens = Table(
    "registration_tokens",
    metadata,
    # A public handle for the help desk (list, show, update, delete): the
    # token itself is shown once and stored only as a keyed hash.
    Column("token_id", Text, primary_key=True),
    Column("token_hash", LargeBinary, nullable=False),
    Column("tenant", Text, nullable=False),
    # NULL: unlimited.
    Column("uses_allowed", Integer),
    # Registrations that hold a use right now but haven't finished.
    Column("pending", Integer, nullable=False, default=0),
    Column("completed", Integer, nullable=False, default=0),
    # NULL: never expires.
    Column("expiry_time", BigInteger),
    Column("created_ts", BigInteger, nullable=False),
    # Defaults for accounts made with the token: "{localpart}" is replaced.
    Column("displayname_pattern", Text),
    Column("max_devices", Integer),
)
Index("registration_tokens_hash", registration_tokens.c.token_hash, unique=True)

# --- Rooms and the streams a client syncs -----------------------------------

# One row. Every change a client must see takes the next position from it
# (UPDATE … RETURNING): the row lock makes positions commit in the order they
# were taken, so "everything after position P" never skips a late commit.
stream_counter = Table(
    "stream_counter",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("position", BigInteger, nullable=False),
)

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
)
Index("events_room_stream", events.c.room_id, events.c.stream_ordering)
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
    PrimaryKeyConstraint("user_id", "room_id", "stream_ordering"),
    sqlite_with_rowid=False,
)

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

account_data = Table(
    "account_data",
    metadata,
    Column("user_id", Text, nullable=False),
    # "" for global account data.
    Column("room_id", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("stream_ordering", BigInteger, nullable=False),
    PrimaryKeyConstraint("user_id", "room_id", "type"),
)
Index("account_data_stream", account_data.c.user_id, account_data.c.stream_ordering)

filters = Table(
    "filters",
    metadata,
    Column("user_id", Text, nullable=False),
    Column("filter_id", Text, nullable=False),
    Column("json", Text, nullable=False),
    PrimaryKeyConstraint("user_id", "filter_id"),
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

# --- End-to-end encryption ---------------------------------------------------

# A device's identity keys (the signed DeviceKeys object of /keys/upload).
# The identity keys themselves never change once set: see services/e2e_keys.py.
e2e_device_keys = Table(
    "e2e_device_keys",
    metadata,
    Column("user_id", Text, nullable=False),
    Column("device_id", Text, nullable=False),
    Column("key_json", Text, nullable=False),
    PrimaryKeyConstraint("user_id", "device_id"),
)

# Unclaimed one-time keys; a claim deletes the row, so each is given out once.
# ``id`` orders them by upload ("given out in the order they were uploaded").
e2e_one_time_keys = Table(
    "e2e_one_time_keys",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("user_id", Text, nullable=False),
    Column("device_id", Text, nullable=False),
    Column("algorithm", Text, nullable=False),
    Column("key_id", Text, nullable=False),
    Column("key_json", Text, nullable=False),
)
Index(
    "e2e_one_time_keys_key",
    e2e_one_time_keys.c.user_id,
    e2e_one_time_keys.c.device_id,
    e2e_one_time_keys.c.algorithm,
    e2e_one_time_keys.c.key_id,
    unique=True,
)

# One fallback key per device and algorithm; handed out (and marked used)
# when the one-time keys run out, never deleted by a claim.
e2e_fallback_keys = Table(
    "e2e_fallback_keys",
    metadata,
    Column("user_id", Text, nullable=False),
    Column("device_id", Text, nullable=False),
    Column("algorithm", Text, nullable=False),
    Column("key_id", Text, nullable=False),
    Column("key_json", Text, nullable=False),
    Column("used", Boolean, nullable=False, default=False),
    PrimaryKeyConstraint("user_id", "device_id", "algorithm"),
)

# The position of the last claim on a device's keys: its /sync must wake and
# report the new device_one_time_keys_count / unused fallback key types.
e2e_key_claims = Table(
    "e2e_key_claims",
    metadata,
    Column("user_id", Text, nullable=False),
    Column("device_id", Text, nullable=False),
    Column("stream_ordering", BigInteger, nullable=False),
    PrimaryKeyConstraint("user_id", "device_id"),
)

# A user's cross-signing keys; key_type is master, self_signing or user_signing.
e2e_cross_signing_keys = Table(
    "e2e_cross_signing_keys",
    metadata,
    Column("user_id", Text, nullable=False),
    Column("key_type", Text, nullable=False),
    Column("public_key", Text, nullable=False),
    Column("key_json", Text, nullable=False),
    PrimaryKeyConstraint("user_id", "key_type"),
)

# Signatures from /keys/signatures/upload, kept apart from the signed
# objects: a device's or a master key's own JSON stays as its owner uploaded it.
e2e_cross_signing_signatures = Table(
    "e2e_cross_signing_signatures",
    metadata,
    Column("signer_user_id", Text, nullable=False),
    Column("signer_key_id", Text, nullable=False),
    Column("target_user_id", Text, nullable=False),
    # A device ID, or the public key of a master key.
    Column("target_key_id", Text, nullable=False),
    Column("signature", Text, nullable=False),
    PrimaryKeyConstraint("target_user_id", "target_key_id", "signer_user_id", "signer_key_id"),
)

# The device-list stream: a row per change of a user's devices or
# cross-signing keys, at the change's stream position.
device_list_changes = Table(
    "device_list_changes",
    metadata,
    Column("user_id", Text, nullable=False),
    Column("stream_ordering", BigInteger, nullable=False),
    PrimaryKeyConstraint("user_id", "stream_ordering"),
)
Index("device_list_changes_stream", device_list_changes.c.stream_ordering)

# Pending to-device messages per recipient device, deleted once the device
# syncs with a token past them.
to_device_messages = Table(
    "to_device_messages",
    metadata,
    Column("user_id", Text, nullable=False),
    Column("device_id", Text, nullable=False),
    Column("stream_ordering", BigInteger, nullable=False),
    Column("sender", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("content", Text, nullable=False),
    PrimaryKeyConstraint("user_id", "device_id", "stream_ordering"),
)

# Transaction IDs of /sendToDevice, per sending device: a retry sends nothing twice.
to_device_txns = Table(
    "to_device_txns",
    metadata,
    Column("user_id", Text, nullable=False),
    Column("device_id", Text, nullable=False),
    Column("txn_id", Text, nullable=False),
    Column("created_ts", BigInteger, nullable=False),
    PrimaryKeyConstraint("user_id", "device_id", "txn_id"),
    sqlite_with_rowid=False,
)

# Server-side key backups: versions (never reused, hence kept when deleted)
# and the encrypted session keys of each.
e2e_room_keys_versions = Table(
    "e2e_room_keys_versions",
    metadata,
    Column("user_id", Text, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("algorithm", Text, nullable=False),
    Column("auth_data", Text, nullable=False),
    # Bumped on every change of the backup's keys: the spec's ``etag``.
    Column("etag", BigInteger, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    PrimaryKeyConstraint("user_id", "version"),
)

e2e_room_keys = Table(
    "e2e_room_keys",
    metadata,
    Column("user_id", Text, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("room_id", Text, nullable=False),
    Column("session_id", Text, nullable=False),
    Column("first_message_index", BigInteger, nullable=False),
    Column("forwarded_count", BigInteger, nullable=False),
    Column("is_verified", Boolean, nullable=False),
    Column("session_data", Text, nullable=False),
    PrimaryKeyConstraint("user_id", "version", "room_id", "session_id"),
)

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

# Who did what to accounts, devices, rooms and policy — never message content.
# Append-only: triggers (migration 0006) refuse deletes and any change but the
# pseudonymisation of ``source`` once the tenant's audit period has passed.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("ts", BigInteger, nullable=False),
    Column("tenant", Text, nullable=False),
    # A user ID, "cli:<os user>" for the admin command line, or NULL for the server itself.
    Column("actor", Text),
    # Dotted names: "login.failed", "device.wiped", "room.closed", ...
    Column("action", Text, nullable=False),
    # What was acted on: a user ID, "<user_id>/<device_id>", a room ID.
    Column("target", Text),
    # The client's IP address; a keyed pseudonym ("p:…") once pseudonymised.
    Column("source", Text),
    Column("source_pseudonymised", Boolean, nullable=False, default=False),
    # JSON object with what else matters (device count, reason, changed keys).
    Column("details", Text),
)
Index("audit_log_tenant_id", audit_log.c.tenant, audit_log.c.id)
Index("audit_log_tenant_ts", audit_log.c.tenant, audit_log.c.ts)
Index("audit_log_target", audit_log.c.tenant, audit_log.c.target)
Index("audit_log_actor", audit_log.c.tenant, audit_log.c.actor)

# A deactivation in progress: the account is closed at once (in the same
# transaction that inserts the row); leaving its rooms follows, and a restart
# resumes every row still here. Deleted when the deactivation is complete.
user_deactivations = Table(
    "user_deactivations",
    metadata,
    Column("user_id", Text, primary_key=True),
    Column("tenant", Text, nullable=False),
    Column("actor", Text),
    Column("requested_ts", BigInteger, nullable=False),
)

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

# The policy each tenant last started with (canonical JSON), so a changed
# configuration is audited as a policy change.
tenant_policies = Table(
    "tenant_policies",
    metadata,
    Column("tenant", Text, primary_key=True),
    Column("policy", Text, nullable=False),
    Column("updated_ts", BigInteger, nullable=False),
)
