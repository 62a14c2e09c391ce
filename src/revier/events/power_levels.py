"""Power levels as the auth rules and the services read them.

Defaults come from the ``m.room.power_levels`` schema and the server-server
API "Definitions": without a power levels event the creator(s) have 100 and
everybody else 0 (v1-v11); from v12 the room creators have an infinite power
level whether or not the event exists. ``state_default`` is 50 and
``events_default`` 0 in both cases; ``invite`` defaults to 0, ``kick``,
``ban`` and ``redact`` to 50.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal, TypeAlias

from revier.events.pdu import Pdu
from revier.events.room_versions import RoomVersion, get_room_version

PowerLevel: TypeAlias = int | float
INFINITE_POWER: float = math.inf

Action: TypeAlias = Literal["invite", "kick", "ban", "redact"]
_ACTION_DEFAULTS: dict[str, int] = {"invite": 0, "kick": 50, "ban": 50, "redact": 50}

# Without an m.room.power_levels event the creator gets 100 (rooms v1-v11).
_CREATOR_DEFAULT = 100
STATE_DEFAULT = 50
EVENTS_DEFAULT = 0
USERS_DEFAULT = 0
NOTIFICATION_DEFAULT = 50


def as_int(value: Any, default: int) -> int:
    """``value`` if it is a JSON integer, else ``default``.

    v10+ auth rules reject non-integer power levels, so accepted events only
    carry integers; this only guards against reading garbage as a level.
    """
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def room_creators(create_event: Pdu, room_version: RoomVersion | str) -> frozenset[str]:
    """The room creators: v12 adds ``additional_creators`` to the create event's sender.

    v10 names the creator in ``content.creator``; v11 dropped that key in
    favour of the sender.
    """
    rv = get_room_version(room_version)
    if not rv.creator_from_sender:
        creator = create_event.content.get("creator")
        return frozenset({creator if isinstance(creator, str) else create_event.sender})
    creators = {create_event.sender}
    if rv.privileged_creators:
        additional = create_event.content.get("additional_creators")
        if isinstance(additional, list):
            creators.update(u for u in additional if isinstance(u, str))
    return frozenset(creators)


def user_power_level(
    user_id: str,
    power_levels_content: Mapping[str, Any] | None,
    create_event: Pdu,
    room_version: RoomVersion | str,
) -> PowerLevel:
    """A user's power level; ``math.inf`` for v12 room creators."""
    rv = get_room_version(room_version)
    is_creator = user_id in room_creators(create_event, rv)
    if rv.privileged_creators and is_creator:
        return INFINITE_POWER
    if power_levels_content is None:
        return _CREATOR_DEFAULT if is_creator else USERS_DEFAULT
    users = power_levels_content.get("users")
    if isinstance(users, Mapping) and user_id in users:
        return as_int(users[user_id], USERS_DEFAULT)
    return as_int(power_levels_content.get("users_default"), USERS_DEFAULT)


def required_power_level(
    event_type: str,
    is_state: bool,
    power_levels_content: Mapping[str, Any] | None,
    create_event: Pdu | None = None,
    room_version: RoomVersion | str | None = None,
) -> int:
    """The *required power level* to send ``event_type`` (server-server API "Definitions").

    ``create_event`` and ``room_version`` are accepted for symmetry with
    ``user_power_level``; no room version changes this definition.
    """
    content = power_levels_content or {}
    events = content.get("events")
    if isinstance(events, Mapping) and event_type in events:
        return as_int(events[event_type], STATE_DEFAULT if is_state else EVENTS_DEFAULT)
    if is_state:
        return as_int(content.get("state_default"), STATE_DEFAULT)
    return as_int(content.get("events_default"), EVENTS_DEFAULT)


def action_power_level(action: Action, power_levels_content: Mapping[str, Any] | None) -> int:
    """The *invite*, *kick*, *ban* or *redact level*."""
    default = _ACTION_DEFAULTS[action]
    return as_int((power_levels_content or {}).get(action), default)


def notification_power_level(key: str, power_levels_content: Mapping[str, Any] | None) -> int:
    """The level needed to trigger a notification such as ``@room`` (key ``room``)."""
    notifications = (power_levels_content or {}).get("notifications")
    if isinstance(notifications, Mapping) and key in notifications:
        return as_int(notifications[key], NOTIFICATION_DEFAULT)
    return NOTIFICATION_DEFAULT
