"""The org wing's tables (see ``revier.storage.schema``).

Units form a tree per tenant; each is shown to clients as a space room kept by
the tenant's service user (``unit_service_users``). Members and attached rooms
hang off a unit; changes to room memberships they cause are queued as jobs
(``unit_jobs`` + ``unit_job_users``) and worked off in committed batches.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
)

from revier.storage.metadata import metadata

units = Table(
    "units",
    metadata,
    Column("unit_id", Text, primary_key=True),
    Column("tenant", Text, nullable=False),
    # The directory's ID (an LDAP DN, a SCIM group ID); NULL for units made by hand.
    Column("external_id", Text),
    Column("name", Text, nullable=False),
    Column("parent_id", Text),
    Column("space_room_id", Text, nullable=False),
    Column("created_ts", BigInteger, nullable=False),
    UniqueConstraint("tenant", "external_id", name="units_external_id"),
)
Index("units_tenant_parent", units.c.tenant, units.c.parent_id)

# role: "member" or "lead".
unit_members = Table(
    "unit_members",
    metadata,
    Column("unit_id", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("role", Text, nullable=False),
    PrimaryKeyConstraint("unit_id", "user_id"),
)
Index("unit_members_user", unit_members.c.user_id)

# rule: "auto_join", "invite" or "announce".
unit_rooms = Table(
    "unit_rooms",
    metadata,
    Column("unit_id", Text, nullable=False),
    Column("room_id", Text, nullable=False),
    Column("rule", Text, nullable=False),
    PrimaryKeyConstraint("unit_id", "room_id"),
)
Index("unit_rooms_room", unit_rooms.c.room_id)

# The account a tenant's units act as (creating spaces, inviting, kicking):
# recorded so that an existing person's account is never mistaken for it.
unit_service_users = Table(
    "unit_service_users",
    metadata,
    Column("tenant", Text, primary_key=True),
    Column("user_id", Text, nullable=False),
)

# Room work for a set of users: ``action`` "add" (join/invite per each room's
# rule, lead power in announce rooms) or "remove" (kick, unless another unit
# still gives the room); ``rooms`` the JSON list of [room_id, rule] it covers,
# fixed when queued (a deleted unit's rooms are still known). ``completed_ts``
# NULL while users are left in ``unit_job_users``; a start-up resumes it.
unit_jobs = Table(
    "unit_jobs",
    metadata,
    Column("job_id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("tenant", Text, nullable=False),
    Column("unit_id", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("rooms", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("users_total", Integer, nullable=False),
    Column("created_ts", BigInteger, nullable=False),
    Column("completed_ts", BigInteger),
)
Index("unit_jobs_pending", unit_jobs.c.tenant, unit_jobs.c.completed_ts, unit_jobs.c.job_id)

unit_job_users = Table(
    "unit_job_users",
    metadata,
    Column("job_id", BigInteger, nullable=False),
    Column("user_id", Text, nullable=False),
    PrimaryKeyConstraint("job_id", "user_id"),
)


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
