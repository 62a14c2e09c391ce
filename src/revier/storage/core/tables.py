"""The core wing's tables (see ``revier.storage.schema``)."""

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
    # Spec "Account moderation": a locked account's tokens answer M_USER_LOCKED
    # (kept, so that unlocking restores the sessions); a suspended one may read
    # but not act (M_USER_SUSPENDED). Both reversible, unlike deactivation.
    Column("locked", Boolean, nullable=False, server_default=false()),
    Column("suspended", Boolean, nullable=False, server_default=false()),
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
    # The client of its last request (policy/client_versions.py): name and version only.
    Column("client_name", Text),
    Column("client_version", Text),
    PrimaryKeyConstraint("user_id", "device_id"),
)

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

# Who ignores whom: the m.ignored_user_list account data, kept as rows so that a
# new message can ask "who ignores its sender?" in one index look-up (they get
# no notification for it) instead of reading every member's list.
ignored_users = Table(
    "ignored_users",
    metadata,
    Column("ignorer_user_id", Text, nullable=False),
    Column("ignored_user_id", Text, nullable=False),
    PrimaryKeyConstraint("ignorer_user_id", "ignored_user_id"),
    sqlite_with_rowid=False,
)
Index("ignored_users_ignored", ignored_users.c.ignored_user_id)

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

# The policy each tenant last started with (canonical JSON), so a changed
# configuration is audited as a policy change.
tenant_policies = Table(
    "tenant_policies",
    metadata,
    Column("tenant", Text, primary_key=True),
    Column("policy", Text, nullable=False),
    Column("updated_ts", BigInteger, nullable=False),
)
