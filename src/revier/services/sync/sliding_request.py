"""The body of a simplified sliding sync request (MSC4186, as clients send it today).

Element X (through ruma) and matrix-js-sdk speak the dialect the reference
server implemented: ``ranges`` per list, ``required_state`` as
``[type, state_key]`` pairs, ``invite_state``; the proposal's text has moved
on, the clients have not, and the clients decide. Every request carries its
whole configuration (nothing is sticky); unknown fields are ignored, as a
newer client may send more than this server knows.

Parsing refuses what can't be meant (wrong types: ``M_BAD_JSON``) and bounds
what a client may ask for (``M_INVALID_PARAM``), so that no body can make the
server work without limit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from revier.errors import BadJson, InvalidParam
from revier.events.identifiers import is_valid_room_id

MAX_LISTS = 100
MAX_LIST_NAME = 64
MAX_CONN_ID = 64
MAX_RANGES = 100
MAX_TIMELINE_LIMIT = 1000
MAX_SUBSCRIPTIONS = 100
MAX_REQUIRED_STATE = 1000
MAX_FILTER_VALUES = 100
MAX_TO_DEVICE_LIMIT = 100
WILDCARD = "*"
# No identifier a client names holds one, and PostgreSQL text can't.
NUL = "\0"
LAZY = "$LAZY"
ME = "$ME"


@dataclass(frozen=True, slots=True)
class RoomConfig:
    """What a client wants of a room: its newest events and some of its state."""

    timeline_limit: int
    required_state: frozenset[tuple[str, str]]

    def combine(self, other: RoomConfig) -> RoomConfig:
        """The superset of two configs (a room in two lists, or a list and a subscription)."""
        return RoomConfig(
            max(self.timeline_limit, other.timeline_limit),
            self.required_state | other.required_state,
        )

    def covers(self, other: RoomConfig) -> bool:
        """Whether this config asks for everything ``other`` asks for."""
        return (
            other.timeline_limit <= self.timeline_limit
            and other.required_state <= self.required_state
        )


@dataclass(frozen=True, slots=True)
class ListFilters:
    is_dm: bool | None = None
    is_encrypted: bool | None = None
    is_invite: bool | None = None
    room_types: tuple[str | None, ...] | None = None
    not_room_types: tuple[str | None, ...] | None = None
    spaces: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None
    not_tags: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ListRequest:
    name: str
    ranges: tuple[tuple[int, int], ...]
    config: RoomConfig
    filters: ListFilters


@dataclass(frozen=True, slots=True)
class Scope:
    """Which rooms an extension covers: those of some lists' windows, and some rooms
    (``*``: every list, or every room the response selects)."""

    lists: frozenset[str] = frozenset({WILDCARD})
    rooms: frozenset[str] = frozenset({WILDCARD})


@dataclass(frozen=True, slots=True)
class Extensions:
    to_device: bool = False
    to_device_since: int | None = None
    to_device_limit: int = MAX_TO_DEVICE_LIMIT
    e2ee: bool = False
    account_data: Scope | None = None
    receipts: Scope | None = None
    typing: Scope | None = None


@dataclass(frozen=True, slots=True)
class SlidingSyncRequest:
    conn_id: str
    lists: tuple[ListRequest, ...] = ()
    subscriptions: Mapping[str, RoomConfig] = field(default_factory=dict)
    extensions: Extensions = Extensions()
    txn_id: str | None = None


def parse_request(body: Mapping[str, Any]) -> SlidingSyncRequest:
    conn_id = _optional(body, "conn_id", str) or ""
    if len(conn_id) > MAX_CONN_ID or NUL in conn_id:
        raise InvalidParam(f"conn_id must be at most {MAX_CONN_ID} characters, without NUL")
    txn_id = _optional(body, "txn_id", str)
    lists_raw = _optional(body, "lists", dict) or {}
    if len(lists_raw) > MAX_LISTS:
        raise InvalidParam(f"At most {MAX_LISTS} lists")
    lists = tuple(_parse_list(name, raw) for name, raw in lists_raw.items())
    subs_raw = _optional(body, "room_subscriptions", dict) or {}
    if len(subs_raw) > MAX_SUBSCRIPTIONS:
        raise InvalidParam(f"At most {MAX_SUBSCRIPTIONS} room subscriptions")
    for room_id in subs_raw:
        if not is_valid_room_id(room_id):
            raise InvalidParam("The keys of room_subscriptions must be room IDs")
    subscriptions = {
        room_id: _parse_config(f"room_subscriptions.{room_id}", _object(raw, room_id))
        for room_id, raw in subs_raw.items()
    }
    extensions = _parse_extensions(_optional(body, "extensions", dict) or {})
    return SlidingSyncRequest(conn_id, lists, subscriptions, extensions, txn_id)


def _parse_list(name: str, raw: Any) -> ListRequest:
    if not name or len(name) > MAX_LIST_NAME or NUL in name:
        raise InvalidParam(f"A list name must be 1 to {MAX_LIST_NAME} characters, without NUL")
    entry = _object(raw, f"lists.{name}")
    ranges_raw = _optional(entry, "ranges", list) or []
    if len(ranges_raw) > MAX_RANGES:
        raise InvalidParam(f"At most {MAX_RANGES} ranges in lists.{name}")
    ranges = tuple(_parse_range(name, r) for r in ranges_raw)
    filters = _parse_filters(name, _optional(entry, "filters", dict) or {})
    return ListRequest(name, ranges, _parse_config(f"lists.{name}", entry), filters)


def _parse_range(name: str, raw: Any) -> tuple[int, int]:
    if (
        not isinstance(raw, list)
        or len(raw) != 2
        or not all(_is_int(v) and v >= 0 for v in raw)
        or raw[0] > raw[1]
    ):
        raise InvalidParam(
            f"Each range of lists.{name} must be [start, end]: integers, 0 <= start <= end"
        )
    return int(raw[0]), int(raw[1])


def _parse_config(where: str, raw: Mapping[str, Any]) -> RoomConfig:
    limit = raw.get("timeline_limit", 0)
    if limit is None:
        limit = 0
    if not _is_int(limit):
        raise BadJson(f"{where}.timeline_limit must be an integer")
    if not 0 <= limit <= MAX_TIMELINE_LIMIT:
        raise InvalidParam(f"{where}.timeline_limit must be between 0 and {MAX_TIMELINE_LIMIT}")
    required = raw.get("required_state")
    if required is None:
        required = []
    if not isinstance(required, list):
        raise BadJson(f"{where}.required_state must be a list of [type, state_key] pairs")
    if len(required) > MAX_REQUIRED_STATE:
        raise InvalidParam(f"At most {MAX_REQUIRED_STATE} required_state entries in {where}")
    pairs = set()
    for entry in required:
        if not (isinstance(entry, list) and len(entry) == 2):
            raise InvalidParam(f"{where}.required_state entries must be [type, state_key] pairs")
        event_type, state_key = entry
        if not (isinstance(event_type, str) and isinstance(state_key, str)):
            raise InvalidParam(f"{where}.required_state entries must be pairs of strings")
        if NUL in event_type or NUL in state_key:
            raise InvalidParam(f"{where}.required_state entries must not contain NUL")
        pairs.add((event_type, state_key))
    return RoomConfig(int(limit), frozenset(pairs))


def _parse_filters(name: str, raw: Mapping[str, Any]) -> ListFilters:
    where = f"lists.{name}.filters"
    return ListFilters(
        is_dm=_optional(raw, "is_dm", bool, where),
        is_encrypted=_optional(raw, "is_encrypted", bool, where),
        is_invite=_optional(raw, "is_invite", bool, where),
        room_types=_room_types(raw, "room_types", where),
        not_room_types=_room_types(raw, "not_room_types", where),
        spaces=_strings(raw, "spaces", where),
        tags=_strings(raw, "tags", where),
        not_tags=_strings(raw, "not_tags", where),
    )


def _parse_extensions(raw: Mapping[str, Any]) -> Extensions:
    to_device = _extension(raw, "to_device")
    since: int | None = None
    limit = MAX_TO_DEVICE_LIMIT
    if to_device is not None:
        since_raw = _optional(to_device, "since", str, "extensions.to_device")
        if since_raw is not None:
            if not since_raw.isdecimal() or len(since_raw) > 18:
                raise InvalidParam("extensions.to_device.since must be a token this server gave")
            since = int(since_raw)
        limit_raw = to_device.get("limit", MAX_TO_DEVICE_LIMIT)
        if not _is_int(limit_raw) or limit_raw < 0:
            raise InvalidParam("extensions.to_device.limit must be a non-negative integer")
        limit = min(int(limit_raw), MAX_TO_DEVICE_LIMIT)
    return Extensions(
        to_device=to_device is not None,
        to_device_since=since,
        to_device_limit=limit,
        e2ee=_extension(raw, "e2ee") is not None,
        account_data=_scope(raw, "account_data"),
        receipts=_scope(raw, "receipts"),
        typing=_scope(raw, "typing"),
    )


def _extension(raw: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    """The extension's request if it is enabled (``enabled`` defaults to false)."""
    entry: Mapping[str, Any] | None = _optional(raw, name, dict, "extensions")
    if entry is None or _optional(entry, "enabled", bool, f"extensions.{name}") is not True:
        return None
    return entry


def _scope(raw: Mapping[str, Any], name: str) -> Scope | None:
    entry = _extension(raw, name)
    if entry is None:
        return None
    where = f"extensions.{name}"
    # Absent: every list and every room; null or []: none.
    lists = _strings(entry, "lists", where) if "lists" in entry else (WILDCARD,)
    rooms = _strings(entry, "rooms", where) if "rooms" in entry else (WILDCARD,)
    return Scope(frozenset(lists or ()), frozenset(rooms or ()))


def _strings(raw: Mapping[str, Any], key: str, where: str) -> tuple[str, ...] | None:
    values = _list(raw, key, where, lambda v: isinstance(v, str) and NUL not in v, "strings")
    return None if values is None else tuple(str(v) for v in values)


def _room_types(raw: Mapping[str, Any], key: str, where: str) -> tuple[str | None, ...] | None:
    """Room types; null stands for rooms without a type."""
    values = _list(
        raw,
        key,
        where,
        lambda v: v is None or (isinstance(v, str) and NUL not in v),
        "strings or null",
    )
    return None if values is None else tuple(values)


def _list(
    raw: Mapping[str, Any], key: str, where: str, ok: Callable[[Any], bool], kind: str
) -> list[Any] | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(ok(v) for v in value):
        raise BadJson(f"{where}.{key} must be a list of {kind} (without NUL)")
    if len(value) > MAX_FILTER_VALUES:
        raise InvalidParam(f"At most {MAX_FILTER_VALUES} values in {where}.{key}")
    return value


def _optional(raw: Mapping[str, Any], key: str, kind: type, where: str = "") -> Any:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        name = f"{where}.{key}" if where else key
        raise BadJson(f"'{name}' must be {_KIND_NAMES.get(kind, kind.__name__)}")
    return value


def _object(raw: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise BadJson(f"'{where}' must be an object")
    return raw


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_KIND_NAMES = {str: "a string", dict: "an object", list: "a list", bool: "true or false"}
