"""The notifications a member is owed, as one selectable over the three tables.

A member's unread notifications are
- their own rows (``event_push_actions`` with ``notify``): not read yet, since a
  read receipt deletes what it covers;
- and the shared rows (``event_notifications``) of the rooms they are joined to
  now, after their read positions (``notification_reads``: the unthreaded one —
  which their join sets too, so nothing from before it counts — and that of the
  row's thread, or of the main timeline), not sent by them, and without a row
  of their own for the same event (which either counts instead, or says the
  event doesn't notify them).

Every statement here reads a member's shared rows from the room's index
(room, position) starting at their unthreaded read position, so a count costs
the unread rows, not the room's history.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    exists,
    false,
    func,
    literal,
    select,
    union_all,
)

from revier.events.relations import MAIN_THREAD
from revier.storage.notifications.tables import (
    event_notifications,
    event_push_actions,
    notification_reads,
)
from revier.storage.rooms.tables import memberships

# Columns of both branches: user_id, room_id, stream_ordering, highlight, thread_id.
_a = event_push_actions
_e = event_notifications
_m = memberships
UNTHREADED = ""  # the thread_key of an unthreaded read position


def own_rows(*where: ColumnElement[bool]) -> Select[Any]:
    return select(
        _a.c.user_id, _a.c.room_id, _a.c.stream_ordering, _a.c.highlight, _a.c.thread_id
    ).where(_a.c.notify, *where)


def shared_rows(*where: ColumnElement[bool]) -> Select[Any]:
    """``where`` may name ``memberships`` (the member) and ``event_notifications``."""
    unthreaded = notification_reads.alias("unthreaded")
    in_thread = notification_reads.alias("in_thread")
    floor = (
        select(unthreaded.c.upto)
        .where(
            unthreaded.c.user_id == _m.c.user_id,
            unthreaded.c.room_id == _m.c.room_id,
            unthreaded.c.thread_key == UNTHREADED,
        )
        .scalar_subquery()
    )
    thread_read = (
        select(in_thread.c.upto)
        .where(
            in_thread.c.user_id == _m.c.user_id,
            in_thread.c.room_id == _e.c.room_id,
            in_thread.c.thread_key == func.coalesce(_e.c.thread_id, literal(MAIN_THREAD)),
        )
        .scalar_subquery()
    )
    own = exists().where(
        _a.c.user_id == _m.c.user_id,
        _a.c.room_id == _e.c.room_id,
        _a.c.stream_ordering == _e.c.stream_ordering,
    )
    return (
        select(
            _m.c.user_id,
            _e.c.room_id,
            _e.c.stream_ordering,
            false().label("highlight"),
            _e.c.thread_id,
        )
        .select_from(_m.join(_e, _e.c.room_id == _m.c.room_id))
        .where(
            _m.c.membership == "join",
            _e.c.stream_ordering > func.coalesce(floor, -1),
            _e.c.sender != _m.c.user_id,
            _e.c.stream_ordering > func.coalesce(thread_read, -1),
            ~own,
            *where,
        )
    )


def owed(
    own_where: list[ColumnElement[bool]], shared_where: list[ColumnElement[bool]]
) -> CompoundSelect[Any]:
    """A member's (members') unread notifications, each filter applied to its branch
    (``own_where`` names ``event_push_actions``, ``shared_where`` ``memberships``
    and ``event_notifications``)."""
    return union_all(own_rows(*own_where), shared_rows(*shared_where))


__all__ = ["UNTHREADED", "owed", "own_rows", "shared_rows"]
