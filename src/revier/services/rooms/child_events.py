"""Recording child events as they are written, and forgetting them when redacted.

Runs inside the event writer's transaction, so a child, its parent's mark and
its thread's newest reply commit with the event or not at all. An event
without ``m.relates_to`` (nearly every event) costs nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass

from revier.errors import DuplicateAnnotation, Unknown
from revier.events.pdu import Pdu
from revier.events.relations import (
    ANNOTATION,
    THREAD,
    Relation,
    counts,
    relation_of,
    starts_thread_badly,
    thread_of_child,
)
from revier.storage import Tx
from revier.storage.rooms import RoomRepos
from revier.storage.rooms.relations import RelationRow


@dataclass(frozen=True, slots=True)
class Child:
    """A new event's relation that counts, and the thread it puts the event in."""

    relation: Relation
    # None: the main timeline.
    thread_id: str | None


async def resolve(tx: Tx, pdu: Pdu) -> Child | None:
    """The new event's relation if it counts (checked before the event is stored).

    A relation that breaks a rule is ignored and the event stored as it is,
    except for the two the spec has the server refuse: a thread started from a
    child event (400 M_UNKNOWN) and the same reaction twice (M_DUPLICATE_ANNOTATION).
    A parent in another room is no parent, and is never looked at further.
    """
    relation = relation_of(pdu.content)
    if relation is None:
        return None
    db = RoomRepos.of(tx)
    parent = await db.events.get(relation.event_id)
    if parent is None or parent.pdu.room_id != pdu.room_id:
        return None
    if starts_thread_badly(relation, parent.pdu):
        raise Unknown("Cannot start a thread from an event that relates to another")
    if not counts(relation, pdu, parent.pdu):
        return None
    if (
        relation.rel_type == ANNOTATION
        and relation.key is not None
        and await db.relations.has_annotation(parent.event_id, pdu.sender, pdu.type, relation.key)
    ):
        raise DuplicateAnnotation("You sent this reaction to this event already")
    parent_thread = (await db.relations.thread_ids([parent.event_id])).get(parent.event_id)
    return Child(relation, thread_of_child(relation, parent_thread))


async def record(tx: Tx, pdu: Pdu, position: int, child: Child) -> None:
    """Store the stored event's relation; a thread reply is its thread's newest."""
    relation = child.relation
    db = RoomRepos.of(tx)
    await db.relations.add(
        RelationRow(
            event_id=pdu.event_id,
            relates_to_id=relation.event_id,
            rel_type=relation.rel_type,
            room_id=pdu.room_id,
            sender=pdu.sender,
            type=pdu.type,
            aggregation_key=relation.key,
            thread_id=child.thread_id,
            stream_ordering=position,
        )
    )
    if relation.rel_type == THREAD:
        await db.relations.thread_replied(pdu.room_id, relation.event_id, pdu.event_id, position)


async def forget(tx: Tx, event_id: str) -> None:
    """A redacted event is nobody's child any more ("the relationship is broken"):
    it leaves its parent's aggregations, and a thread reply its thread's summary."""
    db = RoomRepos.of(tx)
    row = await db.relations.remove(event_id)
    if row is not None and row.rel_type == THREAD:
        await db.relations.refresh_thread(row.room_id, row.relates_to_id)
