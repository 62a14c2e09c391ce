"""Authorization rule 9 of room versions 10 and 11 (rule 10 in v12): m.room.power_levels.

A sender may only move levels that are within their own reach: they cannot
raise anything above their level, nor touch anything already above it, nor
alter a user at or above their level (except themselves).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from revier.events.auth_context import AuthContext
from revier.events.identifiers import is_valid_user_id
from revier.events.power_levels import PowerLevel, room_creators

# The integer-valued top-level properties, in the spec's order.
LEVEL_KEYS = ("users_default", "events_default", "state_default", "ban", "redact", "kick", "invite")
# The object-valued properties mapping a name to a level.
LEVEL_MAPS = ("events", "notifications")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_power_levels(ctx: AuthContext) -> None:
    """Rule 9: return if the new power levels are allowed, raise AuthError if not."""
    content = ctx.event.content
    _check_shape(ctx, content)
    if ctx.room_version.privileged_creators:
        _check_no_creators_listed(ctx, content)
    previous = ctx.power_levels_content
    if previous is None:
        return  # 9.4: the first power levels event of the room
    sender_level = ctx.power_level(ctx.event.sender)
    _check_level_keys(ctx, previous, content, sender_level)
    for name in LEVEL_MAPS:
        _check_level_map(ctx, name, previous.get(name), content.get(name), sender_level)
    _check_users(ctx, previous.get("users"), content.get("users"), sender_level)


def _check_shape(ctx: AuthContext, content: Mapping[str, Any]) -> None:
    """Rules 9.1-9.3 (9.1 and 9.2 added in v10): integers only, valid user ids."""
    if ctx.room_version.enforce_int_power_levels:
        for key in LEVEL_KEYS:
            if key in content and not _is_int(content[key]):
                ctx.fail("9.1", f"{key} must be an integer")
        for name in LEVEL_MAPS:
            if name in content and not _is_int_map(content[name]):
                ctx.fail("9.2", f"{name} must be an object of integers")
    if "users" not in content:
        return
    users = content["users"]
    if not _is_int_map(users) or not all(is_valid_user_id(u) for u in users):
        ctx.fail("9.3", "users must map valid user ids to integers")


def _is_int_map(value: Any) -> bool:
    return isinstance(value, Mapping) and all(_is_int(v) for v in value.values())


def _check_no_creators_listed(ctx: AuthContext, content: Mapping[str, Any]) -> None:
    """Rule 10.4 (added in v12): creators' infinite power cannot be written down."""
    users = content.get("users")
    if not isinstance(users, Mapping):
        return
    listed = sorted(room_creators(ctx.create_event, ctx.room_version) & set(users))
    if listed:
        ctx.fail("10.4", f"room creators may not appear in users: {', '.join(listed)}", exact=True)


def _check_level_keys(
    ctx: AuthContext,
    previous: Mapping[str, Any],
    content: Mapping[str, Any],
    sender_level: PowerLevel,
) -> None:
    """Rule 9.5: added, changed or removed top-level levels."""
    for key in LEVEL_KEYS:
        old, new = previous.get(key), content.get(key)
        if old == new and (key in previous) == (key in content):
            continue
        if isinstance(old, int) and old > sender_level:
            ctx.fail("9.5.1", f"{key} is currently above the sender's level")
        if isinstance(new, int) and new > sender_level:
            ctx.fail("9.5.2", f"{key} would be above the sender's level")


def _check_level_map(
    ctx: AuthContext, name: str, old_map: Any, new_map: Any, sender_level: PowerLevel
) -> None:
    """Rules 9.6 and 9.7: entries of ``events`` and ``notifications``."""
    old = old_map if isinstance(old_map, Mapping) else {}
    new = new_map if isinstance(new_map, Mapping) else {}
    for entry in old.keys() | new.keys():
        if entry in old and entry in new and old[entry] == new[entry]:
            continue
        if entry in old and _is_int(old[entry]) and old[entry] > sender_level:
            ctx.fail("9.6.1", f"{name}.{entry} is currently above the sender's level")
        if entry in new and new[entry] > sender_level:
            ctx.fail("9.7.1", f"{name}.{entry} would be above the sender's level")


def _check_users(ctx: AuthContext, old_map: Any, new_map: Any, sender_level: PowerLevel) -> None:
    """Rules 9.8 and 9.9: entries of ``users``."""
    old = old_map if isinstance(old_map, Mapping) else {}
    new = new_map if isinstance(new_map, Mapping) else {}
    sender = ctx.event.sender
    for user_id in old.keys() | new.keys():
        if user_id in old and user_id in new and old[user_id] == new[user_id]:
            continue
        if (
            user_id != sender
            and user_id in old
            and _is_int(old[user_id])
            and old[user_id] >= sender_level
        ):
            ctx.fail("9.8.1", f"{user_id} is at or above the sender's level")
        if user_id in new and new[user_id] > sender_level:
            ctx.fail("9.9.1", f"{user_id} would be above the sender's level")
