"""The filter API's RoomEventFilter as SQL on the events table (/sync, /messages)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Unpack

from sqlalchemy import ColumnElement, or_

from revier.events.filters import EventQuery
from revier.storage.rooms.relations import related_by
from revier.storage.rooms.tables import events


def filter_clauses(**query: Unpack[EventQuery]) -> list[ColumnElement[bool]]:
    """WHERE clauses for the filter's fields; an empty list for an empty filter.

    ``related_by_*`` keep the events some child event relates to, by the child's
    sender and relation type (matrix-js-sdk asks /messages for thread roots so).
    """
    types, not_types = query.get("types"), query.get("not_types")
    senders, not_senders = query.get("senders"), query.get("not_senders")
    related_by_senders = query.get("related_by_senders")
    related_by_rel_types = query.get("related_by_rel_types")
    ignored = query.get("ignored")
    not_before_ts = query.get("not_before_ts")
    clauses: list[ColumnElement[bool]] = []
    if types:
        clauses.append(_type_filter(types))
    if not_types:
        clauses.append(~_type_filter(not_types))
    if senders:
        clauses.append(events.c.sender.in_(senders))
    if not_senders:
        clauses.append(events.c.sender.not_in(not_senders))
    if ignored:
        clauses.append(or_(events.c.state_key.isnot(None), events.c.sender.not_in(ignored)))
    if not_before_ts is not None:
        # Expired messages (a room's retention); state events are kept and served.
        clauses.append(
            or_(events.c.state_key.isnot(None), events.c.origin_server_ts >= not_before_ts)
        )
    if related_by_senders is not None or related_by_rel_types is not None:
        clauses.append(related_by(events.c.event_id, related_by_senders, related_by_rel_types))
    return clauses


def _type_filter(patterns: Sequence[str]) -> ColumnElement[bool]:
    """The filter API's type patterns: exact names, or a trailing ``*`` wildcard."""
    clauses = []
    for pattern in patterns:
        if pattern.endswith("*"):
            clauses.append(events.c.type.startswith(pattern[:-1], autoescape=True))
        else:
            clauses.append(events.c.type == pattern)
    return or_(*clauses)
