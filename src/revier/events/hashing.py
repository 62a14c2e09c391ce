"""Content hashes, reference hashes and the ids derived from them.

Server-server API "Calculating the content hash" and "Calculating the
reference hash"; event ids are the reference hash in URL-safe unpadded base64
since room version 4, and v12 room ids are the create event's id with ``!``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from unpaddedbase64 import encode_base64

from revier.events.canonical_json import encode_canonical_json
from revier.events.redaction import redact
from revier.events.room_versions import RoomVersion, get_room_version
from revier.events.types import JsonDict

# The content hash covers everything a redaction could remove; these three are
# excluded because they change in transit or depend on the hash itself.
_NOT_IN_CONTENT_HASH = ("unsigned", "signatures", "hashes")
_NOT_IN_REFERENCE_HASH = ("unsigned", "signatures")


def _without(event_dict: Mapping[str, Any], keys: tuple[str, ...]) -> JsonDict:
    return {k: v for k, v in event_dict.items() if k not in keys}


def compute_content_hash_bytes(event_dict: Mapping[str, Any]) -> bytes:
    """SHA-256 over the canonical JSON of the unredacted event."""
    hashed = _without(event_dict, _NOT_IN_CONTENT_HASH)
    return hashlib.sha256(encode_canonical_json(hashed)).digest()


def compute_content_hash(event_dict: Mapping[str, Any]) -> str:
    """The ``hashes.sha256`` value: unpadded standard base64 of the content hash."""
    return encode_base64(compute_content_hash_bytes(event_dict))


def compute_reference_hash(event_dict: Mapping[str, Any], room_version: RoomVersion | str) -> bytes:
    """SHA-256 over the redacted event without ``signatures`` and ``unsigned``.

    Redacting first is what lets an event keep its id after redaction.
    """
    redacted = redact(event_dict, get_room_version(room_version))
    hashed = _without(redacted, _NOT_IN_REFERENCE_HASH)
    return hashlib.sha256(encode_canonical_json(hashed)).digest()


def compute_event_id(event_dict: Mapping[str, Any], room_version: RoomVersion | str) -> str:
    """``$`` + URL-safe unpadded base64 of the reference hash (room versions 4+)."""
    reference_hash = compute_reference_hash(event_dict, room_version)
    return "$" + encode_base64(reference_hash, urlsafe=True)


def compute_room_id_from_create(
    create_event_dict: Mapping[str, Any], room_version: RoomVersion | str
) -> str:
    """The v12 room id: the create event's event id with the ``!`` sigil."""
    return "!" + compute_event_id(create_event_dict, room_version)[1:]
