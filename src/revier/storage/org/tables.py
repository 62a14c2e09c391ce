"""The org wing's tables."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, LargeBinary, Table, Text

from revier.storage.metadata import metadata

# Which accounts the directory manages: a sync creates, updates, moves and
# deactivates only these; an account made by hand never gets a row here.
directory_accounts = Table(
    "directory_accounts",
    metadata,
    Column("user_id", Text, primary_key=True),
    Column("tenant", Text, nullable=False),
    Column("source", Text, nullable=False),  # "ldap" or "scim"
    # The directory's lasting name of the person (entryUUID, objectGUID, SCIM id).
    Column("external_id", Text, nullable=False),
    # The last sync (or SCIM request) that saw the person in the directory.
    Column("last_seen_ts", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)
Index(
    "directory_accounts_external",
    directory_accounts.c.tenant,
    directory_accounts.c.source,
    directory_accounts.c.external_id,
    unique=True,
)

# SCIM bearer tokens issued with `revier admin directory scim-token`: only the
# keyed hash, so a stolen database yields no token.
scim_tokens = Table(
    "scim_tokens",
    metadata,
    Column("token_hash", LargeBinary, primary_key=True),
    Column("tenant", Text, nullable=False),
    Column("created_ts", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)
