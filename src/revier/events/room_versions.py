"""The room versions revier speaks and what differs between them.

Every behaviour that changes between room versions is a named flag here, so
code elsewhere asks ``room_version.redacts_in_content`` instead of comparing
version strings. Only versions 10, 11 and 12 are supported: older rooms
would need string/float power levels, other event id formats and the v1
auth rules, none of which an organisation's new installation ever meets.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RoomVersion:
    identifier: str
    # v7+: the `knock` join rule and `knock` membership exist.
    knock_join_rule: bool
    # v8+: `restricted` join rule with `join_authorised_via_users_server`.
    restricted_join_rule: bool
    # v10+: the `knock_restricted` join rule.
    knock_restricted: bool
    # v10+: auth rule "values in m.room.power_levels must be integers".
    enforce_int_power_levels: bool
    # v11+: the `creator` key is gone from m.room.create; the sender is the creator.
    creator_from_sender: bool
    # v11+: m.room.redaction carries `redacts` in `content`, not at top level.
    redacts_in_content: bool
    # v12: the room id is the create event's reference hash ("!" sigil) and
    # the create event itself carries no `room_id`.
    room_id_from_create_event: bool
    # v12: the create event is implied by the room id, so it MUST NOT appear
    # in `auth_events` (auth events selection, changed in spec v1.16).
    create_event_in_auth_events: bool
    # v12: the create event's sender and `additional_creators` have infinite
    # power and may not be listed in m.room.power_levels `users`.
    privileged_creators: bool
    # Redaction algorithm: v10 (the v9 algorithm) keeps the top-level
    # `origin`, `membership` and `prev_state`; v11 drops them.
    redaction_keeps_legacy_top_level: bool
    # v11+: m.room.create keeps its whole `content` when redacted.
    redaction_keeps_all_create_content: bool
    # v11+: m.room.power_levels keeps `invite` when redacted.
    redaction_keeps_invite_level: bool
    # v11+: m.room.redaction keeps `content.redacts` when redacted.
    redaction_keeps_redacts: bool
    # v11+: m.room.member keeps `third_party_invite.signed` when redacted.
    redaction_keeps_third_party_invite_signed: bool
    # v12: state resolution's first iterative auth check starts from an empty
    # state map and the full conflicted set includes the conflicted subgraph.
    state_res_empty_initial_state: bool


ROOM_V10 = RoomVersion(
    identifier="10",
    knock_join_rule=True,
    restricted_join_rule=True,
    knock_restricted=True,
    enforce_int_power_levels=True,
    creator_from_sender=False,
    redacts_in_content=False,
    room_id_from_create_event=False,
    create_event_in_auth_events=True,
    privileged_creators=False,
    redaction_keeps_legacy_top_level=True,
    redaction_keeps_all_create_content=False,
    redaction_keeps_invite_level=False,
    redaction_keeps_redacts=False,
    redaction_keeps_third_party_invite_signed=False,
    state_res_empty_initial_state=False,
)

# Each version below is the one before it plus what it changed, so the
# differences read off directly.
ROOM_V11 = dataclasses.replace(
    ROOM_V10,
    identifier="11",
    creator_from_sender=True,
    redacts_in_content=True,
    redaction_keeps_legacy_top_level=False,
    redaction_keeps_all_create_content=True,
    redaction_keeps_invite_level=True,
    redaction_keeps_redacts=True,
    redaction_keeps_third_party_invite_signed=True,
)

ROOM_V12 = dataclasses.replace(
    ROOM_V11,
    identifier="12",
    room_id_from_create_event=True,
    create_event_in_auth_events=False,
    privileged_creators=True,
    state_res_empty_initial_state=True,
)

KNOWN_ROOM_VERSIONS: dict[str, RoomVersion] = {
    v.identifier: v for v in (ROOM_V10, ROOM_V11, ROOM_V12)
}

# "Servers SHOULD use room version 12 as the default room version when
# creating new rooms" (spec, Room Versions).
DEFAULT_ROOM_VERSION = "12"


def get_room_version(room_version: RoomVersion | str) -> RoomVersion:
    """Accept a version string where a ``RoomVersion`` is meant.

    Callers hold the string from ``m.room.create``; raising ``KeyError`` for
    an unknown one leaves the choice of M_UNSUPPORTED_ROOM_VERSION (client
    API) or dropping the event (federation) to them.
    """
    if isinstance(room_version, RoomVersion):
        return room_version
    return KNOWN_ROOM_VERSIONS[room_version]
