"""createRoom: the initial events a preset and the request ask for, in the spec's order.

All of them are written in one transaction: a room is created whole or not
at all.
"""

from __future__ import annotations

from typing import Any

from revier.errors import BadJson, Forbidden, InvalidParam, UnsupportedRoomVersion
from revier.events.room_versions import KNOWN_ROOM_VERSIONS, get_room_version
from revier.services.core import Tenant
from revier.services.rooms.room_events import NewEvent, RoomEventWriter, Written
from revier.storage import Tx
from revier.storage.rooms import RoomRepos
from revier.storage.rooms.rooms import Room

MEGOLM = "m.megolm.v1.aes-sha2"

PRESETS: dict[str, dict[str, str]] = {
    "private_chat": {
        "join_rule": "invite",
        "history_visibility": "shared",
        "guest_access": "can_join",
    },
    "trusted_private_chat": {
        "join_rule": "invite",
        "history_visibility": "shared",
        "guest_access": "can_join",
    },
    "public_chat": {
        "join_rule": "public",
        "history_visibility": "shared",
        "guest_access": "forbidden",
    },
}
# The state event each preset key goes into (m.room.join_rules holds "join_rule").
PRESET_EVENTS = {
    "join_rule": "m.room.join_rules",
    "history_visibility": "m.room.history_visibility",
    "guest_access": "m.room.guest_access",
}


def default_power_levels(creator: str, *, creator_in_users: bool) -> dict[str, Any]:
    """The power levels a new room starts with (the spec's createRoom defaults)."""
    return {
        "users": {creator: 100} if creator_in_users else {},
        "users_default": 0,
        "events": {
            "m.room.name": 50,
            "m.room.power_levels": 100,
            "m.room.history_visibility": 100,
            "m.room.canonical_alias": 50,
            "m.room.avatar": 50,
            "m.room.tombstone": 100,
            "m.room.server_acl": 100,
            "m.room.encryption": 100,
        },
        "events_default": 0,
        "state_default": 50,
        "ban": 50,
        "kick": 50,
        "redact": 50,
        "invite": 0,
        "historical": 100,
        "notifications": {"room": 50},
    }


async def create_room_events(
    tx: Tx,
    writer: RoomEventWriter,
    tenant: Tenant,
    creator: str,
    creator_profile: dict[str, str],
    request: dict[str, Any],
    *,
    version: str,
    encrypt: bool,
    alias: str | None,
    invitees: list[str],
    now: int,
    written: Written,
) -> str:
    """Write the room's initial events; returns the room ID."""
    if version not in KNOWN_ROOM_VERSIONS:
        raise UnsupportedRoomVersion(f"Room version {version!r} is not supported here")
    rv = get_room_version(version)
    preset_name = request.get("preset") or (
        "public_chat" if request.get("visibility") == "public" else "private_chat"
    )
    if preset_name not in PRESETS:
        raise InvalidParam(f"Unknown preset {preset_name!r}")
    preset = PRESETS[preset_name]
    trusted = preset_name == "trusted_private_chat"

    create_content: dict[str, Any] = dict(request.get("creation_content") or {})
    create_content["room_version"] = version
    if not rv.creator_from_sender:
        create_content["creator"] = creator
    if rv.privileged_creators and trusted and invitees:
        # v12: trusted_private_chat invitees are creators alike instead of PL 100.
        create_content["additional_creators"] = invitees
    room_id = None if rv.room_id_from_create_event else _new_room_id(tenant)
    create = await writer.send_create(
        tx, tenant, version, creator, create_content, written, room_id
    )
    room_id = create.pdu.room_id
    await RoomRepos.of(tx).rooms.create(
        Room(
            room_id,
            tenant.server_name,
            version,
            creator,
            now,
            request.get("visibility") == "public",
            bump_stamp=create.stream_ordering,
        )
    )

    async def send(event_type: str, content: dict[str, Any], state_key: str | None = "") -> None:
        await writer.send(
            tx, tenant, room_id, creator, NewEvent(event_type, content, state_key), written
        )

    await send("m.room.member", {"membership": "join", **creator_profile}, creator)
    levels = default_power_levels(creator, creator_in_users=not rv.privileged_creators)
    if trusted and not rv.privileged_creators:
        levels["users"].update({u: 100 for u in invitees})
    override = request.get("power_level_content_override")
    if override is not None:
        if not isinstance(override, dict):
            raise BadJson("'power_level_content_override' must be an object")
        levels.update(override)
    await send("m.room.power_levels", levels)
    if alias:
        await send("m.room.canonical_alias", {"alias": alias})
    initial_state = _initial_state(request.get("initial_state"))
    for key, event_type in PRESET_EVENTS.items():
        if (event_type, "") not in initial_state:
            await send(event_type, {key: preset[key]})
    if encrypt and ("m.room.encryption", "") not in initial_state:
        await send("m.room.encryption", {"algorithm": MEGOLM})
    for (event_type, state_key), content in initial_state.items():
        await send(event_type, content, state_key)
    if isinstance(request.get("name"), str):
        await send("m.room.name", {"name": request["name"]})
    if isinstance(request.get("topic"), str):
        await send("m.room.topic", {"topic": request["topic"]})
    for invitee in invitees:
        invite: dict[str, Any] = {"membership": "invite"}
        if request.get("is_direct") is True:
            invite["is_direct"] = True
        await send("m.room.member", invite, invitee)
    return room_id


def encryption_for(policy: str, request: dict[str, Any]) -> bool:
    """Whether the server adds m.room.encryption itself, per the tenant's policy."""
    initial = request.get("initial_state")
    asked = isinstance(initial, list) and any(
        isinstance(event, dict) and event.get("type") == "m.room.encryption" for event in initial
    )
    if policy == "required" and not asked:
        raise Forbidden(
            "This organisation requires end-to-end encryption: create the room with an "
            "m.room.encryption event in initial_state (Element does this by default)"
        )
    return policy == "default" and not asked


def _initial_state(raw: Any) -> dict[tuple[str, str], dict[str, Any]]:
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise BadJson("'initial_state' must be a list of state events")
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for event in raw:
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise BadJson("each initial_state entry needs a 'type'")
        state_key = event.get("state_key", "")
        content = event.get("content")
        if not isinstance(state_key, str) or not isinstance(content, dict):
            raise BadJson("initial_state entries need a string state_key and an object content")
        if event["type"] in ("m.room.create", "m.room.member", "m.room.power_levels"):
            raise Forbidden(f"{event['type']} can't be part of initial_state")
        out[(event["type"], state_key)] = content
    return out


def _new_room_id(tenant: Tenant) -> str:
    import secrets

    return f"!{secrets.token_urlsafe(18)}:{tenant.server_name}"
