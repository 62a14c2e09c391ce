"""The redaction algorithm of room versions 10, 11 and 12.

Version 10 uses the algorithm introduced in room version 9 (the
``v9-redactions`` fragment); versions 11 and 12 use the ``v11-redactions``
fragment. The result is what event ids and signatures are computed over, so
it must match other servers byte for byte: keys are kept exactly as listed,
nothing is normalised.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from revier.events.room_versions import RoomVersion, get_room_version
from revier.events.types import JsonDict, json_copy

_TOP_LEVEL_KEYS = frozenset(
    {
        "event_id",
        "type",
        "room_id",
        "sender",
        "state_key",
        "content",
        "hashes",
        "signatures",
        "depth",
        "prev_events",
        "auth_events",
        "origin_server_ts",
    }
)
# Kept by the v9 algorithm only; v11 stopped protecting them.
_LEGACY_TOP_LEVEL_KEYS = frozenset({"prev_state", "origin", "membership"})

_CONTENT_KEYS: dict[str, frozenset[str]] = {
    "m.room.member": frozenset({"membership", "join_authorised_via_users_server"}),
    "m.room.create": frozenset({"creator"}),
    "m.room.join_rules": frozenset({"join_rule", "allow"}),
    "m.room.power_levels": frozenset(
        {
            "ban",
            "events",
            "events_default",
            "kick",
            "redact",
            "state_default",
            "users",
            "users_default",
        }
    ),
    "m.room.history_visibility": frozenset({"history_visibility"}),
}


def _content_keys(event_type: str, room_version: RoomVersion) -> frozenset[str]:
    keys = _CONTENT_KEYS.get(event_type, frozenset())
    if event_type == "m.room.power_levels" and room_version.redaction_keeps_invite_level:
        keys = keys | {"invite"}
    if event_type == "m.room.redaction" and room_version.redaction_keeps_redacts:
        keys = keys | {"redacts"}
    return keys


def _redact_content(event_type: str, content: Mapping[str, Any], rv: RoomVersion) -> JsonDict:
    if event_type == "m.room.create" and rv.redaction_keeps_all_create_content:
        return json_copy(dict(content))
    keys = _content_keys(event_type, rv)
    kept = {k: json_copy(v) for k, v in content.items() if k in keys}
    if event_type == "m.room.member" and rv.redaction_keeps_third_party_invite_signed:
        # v11: "allows the `signed` key of the `third_party_invite` key" — only
        # that sub-key survives, and only when there is one to keep.
        invite = content.get("third_party_invite")
        if isinstance(invite, Mapping) and "signed" in invite:
            kept["third_party_invite"] = {"signed": json_copy(invite["signed"])}
    return kept


def redact(event_dict: Mapping[str, Any], room_version: RoomVersion | str) -> JsonDict:
    """Return a new, redacted copy of ``event_dict``; the input is not modified."""
    rv = get_room_version(room_version)
    allowed = (
        _TOP_LEVEL_KEYS | _LEGACY_TOP_LEVEL_KEYS
        if rv.redaction_keeps_legacy_top_level
        else _TOP_LEVEL_KEYS
    )
    redacted = {k: json_copy(v) for k, v in event_dict.items() if k in allowed}
    content = event_dict.get("content")
    event_type = event_dict.get("type")
    if isinstance(content, Mapping) and isinstance(event_type, str):
        redacted["content"] = _redact_content(event_type, content, rv)
    else:
        # A malformed content still has to produce *a* redacted form so that
        # hashes can be computed and the event rejected for a real reason.
        redacted["content"] = {}
    return redacted
