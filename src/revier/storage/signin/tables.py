"""The signin wing's tables (see ``revier.storage.schema``)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    Table,
    Text,
)

from revier.storage.metadata import metadata

# A user's second factors. ``kind`` "totp": ``secret`` is the TOTP secret sealed
# with the installation's second-factor key (XSalsa20-Poly1305), ``last_step`` the
# 30-second step of the last code accepted (a code works once). ``kind``
# "webauthn": ``credential_id`` and ``secret`` are the credential's ID and public
# key as the authenticator made them (public; nothing to hide), ``sign_count``
# its counter. ``active`` false: a TOTP enrolment not confirmed yet.
second_factors = Table(
    "second_factors",
    metadata,
    Column("factor_id", Text, primary_key=True),
    Column("user_id", Text, nullable=False),
    Column("tenant", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("secret", LargeBinary, nullable=False),
    Column("credential_id", LargeBinary),
    Column("sign_count", BigInteger, nullable=False),
    Column("last_step", BigInteger),
    Column("created_ts", BigInteger, nullable=False),
    Column("last_used_ts", BigInteger),
)
Index("second_factors_user", second_factors.c.user_id)
Index("second_factors_credential", second_factors.c.credential_id, unique=True)

# Recovery codes: a keyed hash of each unused code (a used one is deleted).
recovery_codes = Table(
    "recovery_codes",
    metadata,
    Column("user_id", Text, nullable=False),
    Column("code_hash", LargeBinary, nullable=False),
    Column("created_ts", BigInteger, nullable=False),
    PrimaryKeyConstraint("user_id", "code_hash"),
    sqlite_with_rowid=False,
)

# WebAuthn challenges handed out and not yet answered: one per user and purpose
# ("register", "authenticate"), single use (deleted when answered), expiring.
webauthn_challenges = Table(
    "webauthn_challenges",
    metadata,
    Column("user_id", Text, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("challenge", LargeBinary, nullable=False),
    Column("expires_ts", BigInteger, nullable=False),
    PrimaryKeyConstraint("user_id", "purpose"),
    sqlite_with_rowid=False,
)

# Failed sign-in attempts (passwords and second-factor codes) of one subject:
# an account ("user:<user ID>") or a client address ("addr:<keyed hash>", so
# the table holds no address). ``failures`` counts those since the last success
# within the tenant's window, ``code_failures`` the codes among them (a right
# password alone doesn't forgive those). ``locked_ts``: when the failures
# locked the account (accounts only).
signin_failures = Table(
    "signin_failures",
    metadata,
    Column("tenant", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("code_failures", Integer, nullable=False),
    Column("last_failure_ts", BigInteger, nullable=False),
    Column("locked_ts", BigInteger),
    PrimaryKeyConstraint("tenant", "subject"),
    sqlite_with_rowid=False,
)
Index("signin_failures_last", signin_failures.c.last_failure_ts)

# Browser sessions of the sign-in and account pages. The cookie's value is
# random and never stored: ``session_hash`` is its HMAC under the
# installation's token key, so a copy of the database signs no one in.
# ``session_id`` is a second random name for the same row that may be shown
# and logged (the cookie's value must not be). ``complete`` is False between
# the password and the second factor; ``factors`` lists what was shown
# ("password totp"), space-separated. ``password_tag``: a keyed hash of the
# user's password hash when the session began: any change of the password
# (the owner's, or the help desk's reset) ends every session begun before it.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("session_hash", LargeBinary, primary_key=True),
    Column("session_id", Text, nullable=False, unique=True),
    Column("tenant", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("factors", Text, nullable=False),
    Column("complete", Boolean, nullable=False),
    Column("password_tag", LargeBinary, nullable=False),
    Column("authenticated_ts", BigInteger, nullable=False),
    Column("last_seen_ts", BigInteger, nullable=False),
    Column("expires_ts", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)
Index("web_sessions_user", web_sessions.c.user_id)
Index("web_sessions_expiry", web_sessions.c.expires_ts)
