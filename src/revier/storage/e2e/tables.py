"""The e2e wing's tables (see ``revier.storage.schema``)."""

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
)

from revier.storage.metadata import metadata

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
