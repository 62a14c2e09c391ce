"""The accounts wing's tables (see ``revier.storage.schema``)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, Table, Text

from revier.storage.metadata import metadata

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
    # NULL: never expires (a tenant without access_token_lifetime).
    Column("expires_ts", BigInteger),
    # The refresh token issued with this access token (rotating it ends this one).
    Column("refresh_hash", LargeBinary),
    # The refresh token this one's refresh replaced: it stays usable until this
    # access token is first used (spec), then it is deleted and this is NULL.
    Column("retires_refresh", LargeBinary),
)
Index("access_tokens_device", access_tokens.c.user_id, access_tokens.c.device_id)

# Refresh tokens (spec "Refreshing access tokens"), keyed hashes like access
# tokens. ``next_hash``: the refresh token issued in exchange for this one; set
# while that exchange is not yet confirmed by the new pair's first use.
refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", LargeBinary, primary_key=True),
    Column("user_id", Text, nullable=False),
    Column("device_id", Text, nullable=False),
    Column("tenant", Text, nullable=False),
    Column("created_ts", BigInteger, nullable=False),
    Column("next_hash", LargeBinary),
    # The OAuth 2.0 API's refresh tokens belong to a family (one sign-in), a keyed
    # hash of the family ID that each of its tokens carries: a spent token of a
    # live family is a replay, and the whole session is revoked. NULL: POST /refresh.
    Column("family", LargeBinary),
    sqlite_with_rowid=False,
)
Index("refresh_tokens_device", refresh_tokens.c.user_id, refresh_tokens.c.device_id)
Index("refresh_tokens_family", refresh_tokens.c.family)

# Short-lived single-purpose tokens, keyed hashes: OpenID tokens that widgets
# and integration managers show to a server (``kind`` "openid", 1 hour) and
# m.login.token login tokens from POST /login/get_token (``kind`` "login", 2
# minutes, single use). Neither is ever an access token.
short_tokens = Table(
    "short_tokens",
    metadata,
    Column("token_hash", LargeBinary, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("tenant", Text, nullable=False),
    Column("expires_ts", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)
Index("short_tokens_expiry", short_tokens.c.expires_ts)

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
