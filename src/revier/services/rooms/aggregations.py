"""Bundled aggregations ("Aggregations of child events"): what ``unsigned["m.relations"]``
of an event says about its children, gathered for a whole page of events at once.

The spec (v1.7 on) bundles three relation types: ``m.replace`` (the most recent
valid edit, whole), ``m.thread`` (the newest reply, the number of replies, and
whether the reader took part) and ``m.reference`` (the children's event IDs).
Annotations (reactions) are not aggregated by the server: "m.annotation is not
included in the m.relations property" — clients count them.

Only events marked as parents (``has_children``) are looked at, so a page
without any costs no query. One with parents costs four, whatever the number of
rooms (which rooms the reader joined before their parents; the edits and
references; the thread summaries; the events to include), and five more per
room the reader sees only part of (a leaver's, a ``joined``-only room's history):
children the reader could not see (history visibility: sent after they left,
before they joined a ``joined`` room) are neither counted nor shown. State
events get no bundles (spec).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from revier.events.relations import REPLACE
from revier.events.visibility import PositionRange
from revier.services.rooms.visibility import seen_ranges
from revier.storage import Tx
from revier.storage.rooms import RoomRepos
from revier.storage.rooms.events import StoredEvent


@dataclass(slots=True)
class Thread:
    latest_event: StoredEvent
    count: int
    current_user_participated: bool


@dataclass(slots=True)
class Bundle:
    """The aggregations of one parent (its ``m.relations``, before formatting)."""

    replace: StoredEvent | None = None
    thread: Thread | None = None
    references: list[str] = field(default_factory=list)


async def bundles(tx: Tx, user_id: str, events: Sequence[StoredEvent]) -> dict[str, Bundle]:
    """event_id -> its bundle, for those of ``events`` that have any for the reader.

    A member who joined a room before its parents here (and stayed) sees every
    child, which come after their parents: the parents of all such rooms are
    read together, unrestricted. The rest, room by room, within what the
    reader's history shows them.
    """
    parents = [e for e in events if e.has_children and not e.pdu.is_state]
    if not parents:
        return {}
    by_room: dict[str, list[StoredEvent]] = defaultdict(list)
    for parent in parents:
        by_room[parent.pdu.room_id].append(parent)
    joined = await RoomRepos.of(tx).many_rooms.joined_since(user_id, list(by_room))
    seen_all: list[StoredEvent] = []
    out: dict[str, Bundle] = {}
    for room_id, group in by_room.items():
        since = joined.get(room_id)
        if since is not None and all(p.stream_ordering >= since for p in group):
            seen_all += group
        elif ranges := await seen_ranges(tx, user_id, room_id):
            out.update(await _bundles(tx, user_id, group, ranges))
    if seen_all:
        out.update(await _bundles(tx, user_id, seen_all, [(None, None)]))
    return out


async def _bundles(
    tx: Tx, user_id: str, parents: list[StoredEvent], ranges: Sequence[PositionRange]
) -> dict[str, Bundle]:
    """The parents' bundles, counting the children in ``ranges`` (three queries)."""
    db = RoomRepos.of(tx)
    ids = [p.event_id for p in parents]
    # A redacted event's edits are not bundled ("whether or not any subsequent
    # replacements are themselves redacted"); its thread and references are.
    redacted = {p.event_id for p in parents if p.redacted_by is not None}
    newest_edit: dict[str, tuple[int, str]] = {}
    references: dict[str, list[str]] = defaultdict(list)
    for child in await db.relations.edits_and_references(ids, ranges):
        if child.rel_type != REPLACE:
            references[child.relates_to_id].append(child.event_id)
        elif child.relates_to_id not in redacted:
            # The most recent: the later origin_server_ts, then the larger event ID.
            candidate = (child.origin_server_ts, child.event_id)
            newest_edit[child.relates_to_id] = max(
                candidate, newest_edit.get(child.relates_to_id, candidate)
            )
    summaries = await db.relations.thread_summaries(ids, user_id, ranges)
    loaded = await db.events.get_many(
        [edit_id for _, edit_id in newest_edit.values()]
        + [s.latest_event_id for s in summaries.values()]
    )
    out: dict[str, Bundle] = {}
    for parent in parents:
        bundle = Bundle(references=references.get(parent.event_id, []))
        edit = newest_edit.get(parent.event_id)
        if edit is not None:
            bundle.replace = loaded.get(edit[1])
        summary = summaries.get(parent.event_id)
        if summary is not None and summary.latest_event_id in loaded:
            bundle.thread = Thread(
                loaded[summary.latest_event_id],
                summary.count,
                summary.participated or parent.pdu.sender == user_id,
            )
        if bundle.replace or bundle.thread or bundle.references:
            out[parent.event_id] = bundle
    return out
