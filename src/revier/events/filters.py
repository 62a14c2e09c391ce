"""The spec's event filters ("Filtering"), parsed once and applied to sync."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from revier.errors import BadJson
from revier.events.identifiers import is_valid_room_id

EVENT_FORMATS = ("client", "federation")
DEFAULT_TIMELINE_LIMIT = 10
MAX_TIMELINE_LIMIT = 500


class EventQuery(TypedDict, total=False):
    """The fields of a RoomEventFilter a query for room events applies."""

    types: Sequence[str] | None
    not_types: Sequence[str] | None
    senders: Sequence[str] | None
    not_senders: Sequence[str] | None
    related_by_senders: Sequence[str] | None
    related_by_rel_types: Sequence[str] | None
    # The reader's ignored users: their non-state events are left out.
    ignored: Collection[str]
    # The room's retention cutoff: older non-state events are left out.
    not_before_ts: int | None


@dataclass(frozen=True)
class EventFilter:
    limit: int | None = None
    types: tuple[str, ...] | None = None
    not_types: tuple[str, ...] = ()
    senders: tuple[str, ...] | None = None
    not_senders: tuple[str, ...] = ()
    rooms: tuple[str, ...] | None = None
    not_rooms: tuple[str, ...] = ()
    lazy_load_members: bool = False
    include_redundant_members: bool = False
    # Only events some child relates to, from these senders / of these types
    # (MSC3440's filter fields; matrix-js-sdk lists thread roots with them).
    related_by_senders: tuple[str, ...] | None = None
    related_by_rel_types: tuple[str, ...] | None = None
    # /sync: the main timeline's unread counts apart from each thread's.
    unread_thread_notifications: bool = False

    def query_args(self, ignored: Collection[str] = ()) -> EventQuery:
        """The fields a query for room events applies (``EventRepository.room_events``);
        ``ignored``: the reader's ignored users."""
        return {
            "ignored": ignored,
            "types": self.types,
            "not_types": self.not_types,
            "senders": self.senders,
            "not_senders": self.not_senders,
            "related_by_senders": self.related_by_senders,
            "related_by_rel_types": self.related_by_rel_types,
        }

    def allows_type(self, event_type: str) -> bool:
        if any(_type_matches(p, event_type) for p in self.not_types):
            return False
        return self.types is None or any(_type_matches(p, event_type) for p in self.types)

    def allows(self, event: Mapping[str, Any]) -> bool:
        sender = event.get("sender")
        if sender in self.not_senders:
            return False
        if self.senders is not None and sender not in self.senders:
            return False
        return self.allows_type(str(event.get("type", "")))

    def allows_room(self, room_id: str) -> bool:
        if room_id in self.not_rooms:
            return False
        return self.rooms is None or room_id in self.rooms


@dataclass(frozen=True)
class SyncFilter:
    timeline: EventFilter = field(default_factory=EventFilter)
    state: EventFilter = field(default_factory=EventFilter)
    ephemeral: EventFilter = field(default_factory=EventFilter)
    room_account_data: EventFilter = field(default_factory=EventFilter)
    account_data: EventFilter = field(default_factory=EventFilter)
    presence: EventFilter = field(default_factory=EventFilter)
    rooms: EventFilter = field(default_factory=EventFilter)
    include_leave: bool = False
    # "client" (ClientEvent) or "federation": the PDUs as servers exchange them.
    event_format: str = "client"

    @property
    def timeline_limit(self) -> int:
        limit = self.timeline.limit
        return DEFAULT_TIMELINE_LIMIT if limit is None else min(max(limit, 0), MAX_TIMELINE_LIMIT)


def parse_filter(raw: Any) -> SyncFilter:
    """A filter definition as POSTed to /user/{userId}/filter; M_BAD_JSON if malformed."""
    if not isinstance(raw, dict):
        raise BadJson("A filter must be a JSON object")
    room = _object(raw, "room")
    room_filter = _event_filter(room, rooms_too=True)
    event_format = raw.get("event_format", "client")
    if event_format not in EVENT_FORMATS:
        raise BadJson("Filter 'event_format' must be 'client' or 'federation'")
    return SyncFilter(
        timeline=_event_filter(_object(room, "timeline"), rooms_too=True),
        state=_event_filter(_object(room, "state"), rooms_too=True),
        ephemeral=_event_filter(_object(room, "ephemeral"), rooms_too=True),
        room_account_data=_event_filter(_object(room, "account_data"), rooms_too=True),
        account_data=_event_filter(_object(raw, "account_data")),
        presence=_event_filter(_object(raw, "presence")),
        rooms=room_filter,
        include_leave=_bool(room, "include_leave"),
        event_format=event_format,
    )


def _object(parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = parent.get(key, {})
    if not isinstance(value, dict):
        raise BadJson(f"Filter field '{key}' must be an object")
    return value


def _event_filter(raw: Mapping[str, Any], *, rooms_too: bool = False) -> EventFilter:
    limit = raw.get("limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)):
        raise BadJson("Filter 'limit' must be an integer")
    return EventFilter(
        limit=limit,
        types=_strings(raw, "types"),
        not_types=_strings(raw, "not_types") or (),
        senders=_strings(raw, "senders"),
        not_senders=_strings(raw, "not_senders") or (),
        rooms=_room_ids(raw, "rooms") if rooms_too else None,
        not_rooms=(_room_ids(raw, "not_rooms") or ()) if rooms_too else (),
        lazy_load_members=_bool(raw, "lazy_load_members"),
        include_redundant_members=_bool(raw, "include_redundant_members"),
        related_by_senders=_strings(raw, "related_by_senders"),
        related_by_rel_types=_strings(raw, "related_by_rel_types"),
        unread_thread_notifications=_bool(raw, "unread_thread_notifications"),
    )


def _strings(raw: Mapping[str, Any], key: str) -> tuple[str, ...] | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadJson(f"Filter field '{key}' must be a list of strings")
    return tuple(value)


def _room_ids(raw: Mapping[str, Any], key: str) -> tuple[str, ...] | None:
    """A list of room IDs: a malformed one is refused, not silently never matched."""
    value = _strings(raw, key)
    for room_id in value or ():
        if not is_valid_room_id(room_id):
            raise BadJson(f"Filter field '{key}' holds {room_id!r}, which is not a room ID")
    return value


def _bool(raw: Mapping[str, Any], key: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise BadJson(f"Filter field '{key}' must be true or false")
    return value


def _type_matches(pattern: str, event_type: str) -> bool:
    """Type patterns may end in '*' (the spec allows a trailing wildcard)."""
    if pattern.endswith("*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def timeline_types(f: EventFilter) -> tuple[Sequence[str] | None, Sequence[str]]:
    return f.types, f.not_types
