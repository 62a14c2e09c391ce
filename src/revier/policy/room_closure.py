"""Closing a room: what members are told, and who tells them.

Pure functions: the service gathers the facts (the closure, the room's
create and power levels events, its joined members) and these decide.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from revier.errors import Forbidden, InvalidParam
from revier.events.pdu import Pdu
from revier.events.power_levels import required_power_level, room_creators, user_power_level

MAX_REASON_LENGTH = 500
# The field a client (or a bot) reads instead of parsing the notice's text.
NOTICE_FIELD = "de.revier.room_closed"


def check_reason(reason: str | None) -> None:
    """The reason ends up in the notice and every member's leave event."""
    if reason is not None and len(reason) > MAX_REASON_LENGTH:
        raise InvalidParam(f"'reason' may be at most {MAX_REASON_LENGTH} characters")


def closer_label(closed_by: str) -> str:
    """How members see who closed the room: a user ID, or for the command line
    "an administrator" (its operating-system account is nobody's business in a chat)."""
    return closed_by if closed_by.startswith("@") else "an administrator"


def when(ts_ms: int) -> str:
    moment = datetime.fromtimestamp(ts_ms / 1000, UTC)
    return f"on {moment:%Y-%m-%d} at {moment:%H:%M} UTC"


def notice_content(closed_by: str, closed_ts: int, reason: str | None) -> dict[str, Any]:
    """The m.notice that ends the room's timeline."""
    body = f"This room was closed by {closer_label(closed_by)} {when(closed_ts)}."
    if reason:
        body += f" Reason: {reason.rstrip('.')}."
    body += " It can't be joined again."
    return {
        "msgtype": "m.notice",
        "body": body,
        NOTICE_FIELD: {
            "closed_by": closed_by if closed_by.startswith("@") else None,
            "closed_ts": closed_ts,
            "reason": reason,
        },
    }


def leave_reason(closed_by: str) -> str:
    return f"Room closed by {closer_label(closed_by)}"


def room_closed_error(closed_by: str, closed_ts: int) -> Forbidden:
    """Why joining, inviting or knocking is refused."""
    return Forbidden(
        f"This room was closed by {closer_label(closed_by)} {when(closed_ts)}; "
        "it can't be joined again"
    )


def notice_sender(
    closer: str,
    joined: Iterable[str],
    create: Pdu,
    power_levels: Mapping[str, Any] | None,
) -> str | None:
    """Who sends the closing notice, or None when no joined member may.

    Every event needs a sender the authorization rules accept: the server
    can't author a message as nobody, and inventing a "system" account would
    put a stranger in the room. So the notice is sent as a member: the closer
    if they are in the room; otherwise the member with the most power (a room
    creator first), who could have written it themselves. Its text and its
    structured field name the real closer either way. A room where no joined
    member may send messages gets no notice; its members still see their
    leave, whose reason names the closer.
    """
    version = create.room_version
    creators = room_creators(create, version)
    needed = required_power_level("m.room.message", False, power_levels)

    def level(user_id: str) -> float:
        return float(user_power_level(user_id, power_levels, create, version))

    allowed = [u for u in set(joined) if level(u) >= needed]
    if closer in allowed:
        return closer
    allowed.sort(key=lambda u: (u not in creators, -level(u), u))
    return allowed[0] if allowed else None
