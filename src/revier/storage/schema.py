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
)
