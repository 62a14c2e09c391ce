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


# Inclusive bounds of stream positions; None: unbounded on that side.
PositionRange = tuple[int | None, int | None]


def visibility_at(visibilities: Sequence[tuple[int, str]], position: int) -> str:
    """The history visibility in force at ``position``, from the room's
    (position, value) changes, oldest first: ``shared`` before the first and for
    a value the spec doesn't know."""
    index = bisect.bisect_right(visibilities, (position, "\uffff")) - 1
    value = visibilities[index][1] if index >= 0 else "shared"
    return value if value in VISIBILITIES else "shared"


def visible_ranges(
    visibilities: Sequence[tuple[int, str]], history: Sequence[tuple[int, str]]
) -> list[PositionRange]:
    """Where in the room's stream a user sees events, as merged position ranges.

    ``is_visible`` depends on a position only through comparisons with the
    positions where the visibility or the user's membership changed, so it is
    constant between two such changes: evaluating it at each change and once in
    each gap between them decides every position. Counting the events a user may
    see (a thread's replies) then takes one range query instead of loading them.
    The user's own member events, which they always see, are not treated apart:
    the ranges are meant for other events, and err on the side of hiding.
    """
    points = sorted({p for p, _ in visibilities} | {p for p, _ in history})

    def visible(position: int) -> bool:
        at = visibility_at(visibilities, position)
        return is_visible(at, history, position, is_own_member=False)

    if not points:
        return [(None, None)] if visible(0) else []
    pieces: list[tuple[int | None, int | None, bool]] = [
        (None, points[0] - 1, visible(points[0] - 1))
    ]
    for i, point in enumerate(points):
        pieces.append((point, point, visible(point)))
        following = points[i + 1] if i + 1 < len(points) else None
        if following is None:
            pieces.append((point + 1, None, visible(point + 1)))
        elif following > point + 1:
            pieces.append((point + 1, following - 1, visible(point + 1)))
    merged: list[PositionRange] = []
    for low, high, shown in pieces:
        if not shown:
            continue
        if merged and merged[-1][1] is not None and low is not None and merged[-1][1] + 1 == low:
            merged[-1] = (merged[-1][0], high)
        else:
            merged.append((low, high))
    return merged
