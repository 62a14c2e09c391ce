"""A search request's ``room_events`` criteria, and the ``next_batch`` token.

The token is opaque to clients but holds nothing secret: the ordering, the
stream position the search was first answered at (later pages count no newer
events, so pages neither repeat nor skip when messages arrive), the last
result's rank and stream position, and the group it continues, if any.
Everything the searcher may see is worked out again for every page; a token
made up by hand reaches nothing more than the first page would.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from revier.errors import BadJson, InvalidParam, MissingParam
from revier.events.filters import EventFilter, parse_filter
from revier.events.search import (
    MAX_SEARCH_TERM_LENGTH,
    MAX_SEARCH_WORDS,
    SEARCH_KEYS,
    search_words,
)

DEFAULT_LIMIT = 10
MAX_LIMIT = 50
DEFAULT_CONTEXT = 5
MAX_CONTEXT = 20
GROUP_KEYS = ("room_id", "sender")
Order = Literal["rank", "recent"]


@dataclass(frozen=True)
class EventContext:
    before_limit: int = DEFAULT_CONTEXT
    after_limit: int = DEFAULT_CONTEXT
    include_profile: bool = False


@dataclass(frozen=True)
class SearchQuery:
    words: tuple[str, ...]
    keys: tuple[str, ...] = tuple(SEARCH_KEYS)
    filter: EventFilter = field(default_factory=EventFilter)
    order_by: Order = "rank"
    event_context: EventContext | None = None
    include_state: bool = False
    group_by: tuple[str, ...] = ()

    @property
    def limit(self) -> int:
        limit = self.filter.limit
        return DEFAULT_LIMIT if limit is None else min(max(limit, 1), MAX_LIMIT)

    @property
    def types(self) -> list[str]:
        """The event types searched: those of the keys the filter's types allow."""
        return [t for t in {SEARCH_KEYS[k] for k in self.keys} if self.filter.allows_type(t)]


@dataclass(frozen=True)
class Batch:
    """Where the next page starts (see the module's docstring)."""

    order_by: Order
    upto: int
    rank: float
    stream_ordering: int
    group: tuple[str, str] | None = None

    def encode(self) -> str:
        raw = [self.order_by, self.upto, self.rank, self.stream_ordering, self.group]
        return base64.urlsafe_b64encode(orjson.dumps(raw)).decode().rstrip("=")

    @classmethod
    def parse(cls, token: str) -> Batch:
        try:
            raw = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            order_by, upto, rank, position, group = raw
        except (ValueError, TypeError, binascii.Error):
            raise InvalidParam("'next_batch' is not a token this server gave") from None
        valid = (
            order_by in ("rank", "recent")
            and _is_int(upto)
            and _is_int(position)
            and isinstance(rank, int | float)
            and not isinstance(rank, bool)
            and (group is None or _is_group(group))
        )
        if not valid:
            raise InvalidParam("'next_batch' is not a token this server gave")
        return cls(order_by, upto, float(rank), position, tuple(group) if group else None)


def parse_search(body: dict[str, Any]) -> SearchQuery | None:
    """The request body of POST /search; None when it asks for no ``room_events``."""
    categories = body.get("search_categories")
    if categories is None:
        raise MissingParam("'search_categories' is required")
    if not isinstance(categories, dict):
        raise BadJson("'search_categories' must be an object")
    criteria = categories.get("room_events")
    if criteria is None:
        return None
    if not isinstance(criteria, dict):
        raise BadJson("'room_events' must be an object")
    return SearchQuery(
        words=_words(criteria.get("search_term")),
        keys=_keys(criteria.get("keys")),
        filter=_filter(criteria.get("filter")),
        order_by=_order(criteria.get("order_by")),
        event_context=_context(criteria.get("event_context")),
        include_state=_bool(criteria, "include_state"),
        group_by=_groups(criteria.get("groupings")),
    )


def _words(term: Any) -> tuple[str, ...]:
    if term is None:
        raise MissingParam("'search_term' is required")
    if not isinstance(term, str):
        raise BadJson("'search_term' must be a string")
    if len(term) > MAX_SEARCH_TERM_LENGTH:
        raise InvalidParam(f"'search_term' is longer than {MAX_SEARCH_TERM_LENGTH} characters")
    words = search_words(term)
    if len(words) > MAX_SEARCH_WORDS:
        raise InvalidParam(f"'search_term' has more than {MAX_SEARCH_WORDS} words")
    return tuple(words)


def _keys(keys: Any) -> tuple[str, ...]:
    if keys is None:
        return tuple(SEARCH_KEYS)
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise BadJson("'keys' must be a list of strings")
    unknown = [k for k in keys if k not in SEARCH_KEYS]
    if unknown:
        raise InvalidParam(f"'keys' may hold only {', '.join(SEARCH_KEYS)}")
    return tuple(dict.fromkeys(keys))


def _filter(raw: Any) -> EventFilter:
    if raw is None:
        return EventFilter()
    if not isinstance(raw, dict):
        raise BadJson("'filter' must be an object")
    # A RoomEventFilter is what a sync filter's room.timeline holds.
    return parse_filter({"room": {"timeline": raw}}).timeline


def _order(raw: Any) -> Order:
    if raw is None or raw == "rank":
        return "rank"
    if raw == "recent":
        return "recent"
    raise InvalidParam("'order_by' must be 'rank' or 'recent'")


def _context(raw: Any) -> EventContext | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise BadJson("'event_context' must be an object")
    limits = []
    for name in ("before_limit", "after_limit"):
        value = raw.get(name, DEFAULT_CONTEXT)
        if not isinstance(value, int) or isinstance(value, bool):
            raise BadJson(f"'{name}' must be an integer")
        if value < 0:
            raise InvalidParam(f"'{name}' must not be negative")
        limits.append(min(value, MAX_CONTEXT))
    return EventContext(limits[0], limits[1], _bool(raw, "include_profile"))


def _groups(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise BadJson("'groupings' must be an object")
    group_by = raw.get("group_by", [])
    if not isinstance(group_by, list) or not all(isinstance(g, dict) for g in group_by):
        raise BadJson("'group_by' must be a list of objects")
    keys = [g.get("key") for g in group_by]
    if not all(k in GROUP_KEYS for k in keys):
        raise InvalidParam("A group's 'key' must be 'room_id' or 'sender'")
    return tuple(dict.fromkeys(str(k) for k in keys))


def _bool(raw: dict[str, Any], name: str) -> bool:
    value = raw.get(name, False)
    if not isinstance(value, bool):
        raise BadJson(f"'{name}' must be a boolean")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**62


def _is_group(group: Any) -> bool:
    return (
        isinstance(group, list)
        and len(group) == 2
        and group[0] in GROUP_KEYS
        and isinstance(group[1], str)
    )
