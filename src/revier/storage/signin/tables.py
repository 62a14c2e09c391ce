"""The signin wing's tables (see ``revier.storage.schema``)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, LargeBinary, Table, Text

from revier.storage.metadata import metadata

# Browser sessions of the sign-in and account pages. The cookie's value is
# random and never stored: ``session_hash`` is its HMAC under the
# installation's token key, so a copy of the database signs no one in.
# ``session_id`` is a second random name for the same row that may be shown
# and logged (the cookie's value must not be). ``complete`` is False between
# the password and the second factor; ``factors`` lists what was shown
# ("password totp"), space-separated.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("session_hash", LargeBinary, primary_key=True),
    Column("session_id", Text, nullable=False, unique=True),
    Column("tenant", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("factors", Text, nullable=False),
    Column("complete", Boolean, nullable=False),
    Column("authenticated_ts", BigInteger, nullable=False),
    Column("last_seen_ts", BigInteger, nullable=False),
    Column("expires_ts", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)
Index("web_sessions_user", web_sessions.c.user_id)
Index("web_sessions_expiry", web_sessions.c.expires_ts)
