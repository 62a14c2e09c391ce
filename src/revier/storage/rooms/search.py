"""The full-text index of room events (server-side search), one row per indexed event.

Two engines, one table name, ``event_search``, keyed by the event's stream
ordering (unique, an integer: FTS5's rowid) and joined with ``events`` for
the room, type and sender:

- SQLite: an FTS5 virtual table, tokenizer ``unicode61`` without diacritic
  folding (so that both engines find the same), ranked by ``bm25``;
- PostgreSQL: a ``tsvector`` of the ``simple`` configuration with a GIN
  index, ranked by ``ts_rank``.

``simple`` rather than ``german``: messages mix German, English, names, plates
and case numbers, and a stemmer for the wrong language (or the right one on a
name) conflates words that differ and is worse than none; SQLite has no German
stemmer, so the engines would also disagree. Prefix matching of every word
(``events/search.py``) gives what stemming would give most often in German,
where inflected forms and compounds start with the word searched for.

Being engine-specific, the table is made by migration 0015 and is not in
``schema.metadata`` (``schema.include_name`` leaves it out of comparisons).
Only the rooms wing writes it, in the transaction that stores, redacts or
purges the event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Select,
    and_,
    bindparam,
    column,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.events.filters import EventQuery
from revier.events.search import is_prefix
from revier.events.visibility import PositionRange
from revier.storage.direct import Prepared
from revier.storage.rooms.event_filters import filter_clauses
from revier.storage.rooms.events import COLUMNS, EventRepository, StoredEvent
from revier.storage.rooms.tables import events

TABLE = "event_search"
_fts = table(TABLE, column("rowid", BigInteger), column("value"))
_pg = table(TABLE, column("stream_ordering", BigInteger), column("vector"))
_TSQUERY = func.to_tsquery(literal_column("'simple'::regconfig"), bindparam("match"))

# Built once: every message sent runs one of them.
_INDEX_SQLITE = Prepared(insert(_fts).values(rowid=bindparam("so"), value=bindparam("value")))
_INDEX_PG = insert(_pg).values(
    stream_ordering=bindparam("so"),
    vector=func.to_tsvector(literal_column("'simple'::regconfig"), bindparam("value")),
)

Order = Literal["rank", "recent"]


@dataclass(frozen=True)
class SearchWhere:
    """What a search looks in: the words, each room with the stream ranges the
    searcher may read there, the event types of the keys searched, the
    filter's fields, and the newest position counted."""

    words: Sequence[str]
    rooms: Mapping[str, Sequence[PositionRange]]
    types: Sequence[str]
    upto: int
    query: EventQuery
    # Per room, the oldest origin_server_ts still served (its retention).
    not_before: Mapping[str, int] = field(default_factory=dict)


class SearchRepository:
    def __init__(self, conn: AsyncConnection, events_repo: EventRepository) -> None:
        self._conn = conn
        self._events = events_repo
        self._sqlite = conn.dialect.name == "sqlite"

    async def index(self, stream_ordering: int, value: str) -> None:
        """On the hot path of every message: one prepared insert."""
        params = {"so": stream_ordering, "value": value}
        if self._sqlite:
            await _INDEX_SQLITE.rows(self._conn, params)
        else:
            await self._conn.execute(_INDEX_PG, params)

    async def forget(self, stream_orderings: Sequence[int]) -> None:
        """Drop events from the index (redacted, purged)."""
        if stream_orderings:
            await self._conn.execute(delete(self._table).where(self._key.in_(stream_orderings)))

    async def forget_room(self, room_id: str) -> None:
        """Drop a room's events from the index (it is encrypted from now on)."""
        of_room = select(events.c.stream_ordering).where(events.c.room_id == room_id)
        await self._conn.execute(delete(self._table).where(self._key.in_(of_room)))

    async def rooms_with_hits(
        self, words: Sequence[str], room_ids: Sequence[str], types: Sequence[str], upto: int
    ) -> set[str]:
        """Which of the rooms have any event matching: only those need their visibility."""
        found: set[str] = set()
        for start in range(0, len(room_ids), 500):
            stmt = self._matches(select(events.c.room_id).distinct()).where(
                events.c.room_id.in_(room_ids[start : start + 500]),
                events.c.type.in_(types),
                events.c.stream_ordering <= upto,
            )
            rows = await self._conn.execute(stmt, {"match": self._match(words)})
            found |= {row.room_id for row in rows}
        return found

    async def count(self, where: SearchWhere) -> int:
        stmt = self._where(self._matches(select(func.count())), where)
        return int((await self._conn.execute(stmt, {"match": self._match(where.words)})).scalar())

    async def page(
        self,
        where: SearchWhere,
        order: Order,
        after: tuple[float, int] | None,
        limit: int,
    ) -> list[tuple[StoredEvent, float]]:
        """Up to ``limit`` matches after ``after`` (the last one's (rank, stream
        ordering)): best first by rank (lower is better here), or newest first.
        Each with its rank."""
        rank = self._rank
        stmt = self._where(
            self._matches(select(events.c.room_id, *COLUMNS, rank.label("score"))), where
        )
        so = events.c.stream_ordering
        if order == "rank":
            if after is not None:
                stmt = stmt.where(or_(rank > after[0], and_(rank == after[0], so < after[1])))
            stmt = stmt.order_by(rank.asc(), so.desc())
        else:
            if after is not None:
                stmt = stmt.where(so < after[1])
            stmt = stmt.order_by(so.desc())
        rows = await self._conn.execute(stmt.limit(limit), {"match": self._match(where.words)})
        return [(await self._events.parse(row), float(row.score)) for row in rows]

    @property
    def _table(self) -> Any:
        return _fts if self._sqlite else _pg

    @property
    def _key(self) -> ColumnElement[int]:
        return _fts.c.rowid if self._sqlite else _pg.c.stream_ordering

    @property
    def _rank(self) -> ColumnElement[float]:
        if self._sqlite:
            return literal_column(f"bm25({TABLE})", Float)
        # ts_rank: higher is better; negated to share the order with bm25.
        return -func.ts_rank(_pg.c.vector, _TSQUERY, type_=Float)

    def _matches(self, stmt: Select[Any]) -> Select[Any]:
        """``stmt`` over the index joined with the events, restricted to matches."""
        joined = self._table.join(events, events.c.stream_ordering == self._key)
        if self._sqlite:
            return stmt.select_from(joined).where(text(f"{TABLE} MATCH :match"))
        return stmt.select_from(joined).where(_pg.c.vector.op("@@")(_TSQUERY))

    def _match(self, words: Sequence[str]) -> str:
        """The engine's query: all words required, most as prefixes (``is_prefix``).
        The words are letters and digits only (``events.search.search_words``), and
        quoted besides."""
        if self._sqlite:
            return " ".join(f'"{w}"' + ("*" if is_prefix(w) else "") for w in words)
        return " & ".join(f"'{w}'" + (":*" if is_prefix(w) else "") for w in words)

    @staticmethod
    def _where(stmt: Select[Any], where: SearchWhere) -> Select[Any]:
        return stmt.where(
            _visible(where.rooms, where.not_before),
            events.c.type.in_(where.types),
            events.c.stream_ordering <= where.upto,
            *filter_clauses(**where.query),
        )


def _visible(
    rooms: Mapping[str, Sequence[PositionRange]], not_before: Mapping[str, int]
) -> ColumnElement[bool]:
    """Each room's events within the ranges the searcher may read, and not
    older than the room's retention."""
    whole = [
        room_id
        for room_id, ranges in rooms.items()
        if (None, None) in ranges and room_id not in not_before
    ]
    clauses: list[ColumnElement[bool]] = [events.c.room_id.in_(whole)] if whole else []
    so = events.c.stream_ordering
    for room_id, ranges in rooms.items():
        if room_id in whole or not ranges:
            continue
        cut = not_before.get(room_id)
        spans = [
            and_(
                so >= (low if low is not None else 0),
                so <= (high if high is not None else 2**62),
            )
            for low, high in ranges
        ]
        clauses.append(
            and_(
                events.c.room_id == room_id,
                or_(*spans),
                *([events.c.origin_server_ts >= cut] if cut is not None else []),
            )
        )
    return or_(*clauses) if clauses else events.c.room_id.in_([])
