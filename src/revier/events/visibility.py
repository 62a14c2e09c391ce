"""Who may see a room event: the spec's history visibility algorithm.

Client-server API, "Room History Visibility": an event is visible to a user
if the room was world_readable at the event; or the user was joined at the
event; or it was ``shared`` and the user joined at some point after the
event; or it was ``invited`` and the user was invited (or joined) at it.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

VISIBILITIES = ("world_readable", "shared", "invited", "joined")


def membership_at(history: Sequence[tuple[int, str]], position: int) -> str:
    """The user's membership after the newest of their member events at or before ``position``."""
    index = bisect.bisect_right(history, (position, "\uffff")) - 1
    return history[index][1] if index >= 0 else "leave"


def joined_since(history: Sequence[tuple[int, str]], position: int) -> bool:
    """Did the user join (or stay joined) at any point after ``position``?"""
    if membership_at(history, position) == "join":
        return True
    index = bisect.bisect_right(history, (position, "\uffff"))
    return any(membership == "join" for _, membership in history[index:])


def is_visible(
    visibility: str, history: Sequence[tuple[int, str]], position: int, *, is_own_member: bool
) -> bool:
    """``history`` is the user's (position, membership) list in the room, oldest first.

    ``is_own_member`` marks the user's own membership events, which they always
    see (they must learn that they were invited, kicked or banned).
    """
    if is_own_member or visibility == "world_readable":
        return True
    membership = membership_at(history, position)
    if membership == "join":
        return True
    if visibility == "shared" and joined_since(history, position):
        return True
    return visibility == "invited" and membership == "invite"
