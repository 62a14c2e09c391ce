"""Relationships between events (client-server API "Forming relationships between
events"): which parent an event names, and which relations the spec's rules let count.

Pure: the service loads the events, these functions decide. A relation that breaks
a rule is "simply ignored" (spec): the event stays, but it is nobody's child.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from revier.events.pdu import Pdu

THREAD = "m.thread"
REPLACE = "m.replace"
ANNOTATION = "m.annotation"
REFERENCE = "m.reference"

# The thread ID of the main timeline (spec: "Threaded read receipts").
MAIN_THREAD = "main"

# How deep /relations?recurse=true follows children of children (the spec: "at
# least 3 levels"; the reference server stops at 3 too).
MAX_DEPTH = 3


@dataclass(frozen=True, slots=True)
class Relation:
    """The ``m.relates_to`` of a child event that has a ``rel_type``."""

    rel_type: str
    event_id: str
    # An annotation's key (the reaction's emoji); None for other types.
    key: str | None = None


def relation_of(content: Mapping[str, Any]) -> Relation | None:
    """The relation an event's (cleartext) content declares, or None.

    Rich replies have no ``rel_type`` and are no relation here. A malformed
    ``m.relates_to`` (no parent event ID, an annotation without a key) is ignored.
    """
    relates_to = content.get("m.relates_to")
    if not isinstance(relates_to, dict):
        return None
    rel_type = relates_to.get("rel_type")
    event_id = relates_to.get("event_id")
    if not isinstance(rel_type, str) or not rel_type:
        return None
    if not isinstance(event_id, str) or not event_id.startswith("$"):
        return None
    if rel_type != ANNOTATION:
        return Relation(rel_type, event_id)
    key = relates_to.get("key")
    if not isinstance(key, str) or not key:
        return None
    return Relation(rel_type, event_id, key)


def starts_thread_badly(relation: Relation, parent: Pdu) -> bool:
    """A thread may only start from an event that is no child itself ("Validation of
    m.thread relationships"): servers reject such a send with 400 M_UNKNOWN."""
    return relation.rel_type == THREAD and relation_of(parent.content) is not None


def counts(relation: Relation, child: Pdu, parent: Pdu) -> bool:
    """Whether the spec's rules let ``child`` be ``parent``'s child at all.

    Every relation needs both events in one room. Replacements must also keep
    sender and type, never touch state, never edit an edit, and carry
    ``m.new_content`` (which an encrypted edit carries inside its ciphertext,
    unseen). Annotations of an annotation or of an edit are ignored.
    """
    if child.room_id != parent.room_id:
        return False
    if relation.rel_type == REPLACE:
        return _valid_replacement(child, parent)
    if relation.rel_type == ANNOTATION:
        above = relation_of(parent.content)
        return above is None or above.rel_type not in (ANNOTATION, REPLACE)
    return True


def _valid_replacement(edit: Pdu, original: Pdu) -> bool:
    """ "Validity of replacement events"."""
    if edit.sender != original.sender or edit.type != original.type:
        return False
    if edit.is_state or original.is_state:
        return False
    above = relation_of(original.content)
    if above is not None and above.rel_type == REPLACE:
        return False
    return edit.type == "m.room.encrypted" or isinstance(edit.content.get("m.new_content"), dict)


def thread_of_child(relation: Relation, parent_thread: str | None) -> str | None:
    """The thread a child event is in (None: the main timeline): a thread reply is
    in its root's thread; any other child is where its parent is (a thread root is
    in the main timeline, so are the edits and reactions of it)."""
    if relation.rel_type == THREAD:
        return relation.event_id
    return parent_thread
