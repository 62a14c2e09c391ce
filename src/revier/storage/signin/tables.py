"""The signin wing's tables (see ``revier.storage.schema``): the pages' browser
sessions; the OAuth 2.0 API's client registrations, authorization codes,
device authorization grants and sign-in sessions. Every secret is stored only
as a keyed hash."""

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

# Dynamic client registrations (RFC 7591), per tenant: a client_id of one
# tenant is unknown at another's endpoints. ``client_metadata``: the registered
# metadata as JSON, as the registration answered it.
oauth_clients = Table(
    "oauth_clients",
    metadata,
    Column("client_id", Text, primary_key=True),
    Column("tenant", Text, nullable=False),
    Column("client_metadata", Text, nullable=False),
    Column("created_ts", BigInteger, nullable=False),
)
Index("oauth_clients_created", oauth_clients.c.created_ts)

# Authorization codes (RFC 6749 4.1), single use and short-lived. A used code
# stays until it expires with ``family`` set: presented again, the tokens it
# gave are revoked (RFC 6749 4.1.2: the code was stolen).
oauth_codes = Table(
    "oauth_codes",
    metadata,
    Column("code_hash", LargeBinary, primary_key=True),
    Column("tenant", Text, nullable=False),
    Column("client_id", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column("device_id", Text, nullable=False),
    Column("code_challenge", Text, nullable=False),
    Column("expires_ts", BigInteger, nullable=False),
    Column("used_ts", BigInteger),
    Column("family", LargeBinary),
    sqlite_with_rowid=False,
)
Index("oauth_codes_expiry", oauth_codes.c.expires_ts)

# Device authorization grants (RFC 8628): the polling client holds the device
# code, the person types the user code on the verification page. ``status``:
# "pending", "approved" (by ``user_id``), "denied", "used".
oauth_device_grants = Table(
    "oauth_device_grants",
    metadata,
    Column("device_code_hash", LargeBinary, primary_key=True),
    Column("user_code_hash", LargeBinary, nullable=False),
    Column("tenant", Text, nullable=False),
    Column("client_id", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column("device_id", Text, nullable=False),
    Column("expires_ts", BigInteger, nullable=False),
    Column("last_poll_ts", BigInteger, nullable=False),
    Column("status", Text, nullable=False),
    Column("user_id", Text),
    sqlite_with_rowid=False,
)
Index("oauth_device_grants_user_code", oauth_device_grants.c.user_code_hash, unique=True)
Index("oauth_device_grants_expiry", oauth_device_grants.c.expires_ts)

# One row per sign-in through the OAuth 2.0 API: which client holds the tokens
# of which device. ``family``: the keyed hash of its refresh-token family (the
# accounts wing's ``refresh_tokens.family``).
oauth_sessions = Table(
    "oauth_sessions",
    metadata,
    Column("family", LargeBinary, primary_key=True),
    Column("tenant", Text, nullable=False),
    Column("client_id", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("device_id", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column("created_ts", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)
Index("oauth_sessions_device", oauth_sessions.c.user_id, oauth_sessions.c.device_id)
