"""Which parent an event names, and which relations the spec's rules let count."""

from __future__ import annotations

from typing import Any

import pytest

from revier.events.pdu import Pdu
from revier.events.relations import (
    Relation,
    counts,
    relation_of,
    starts_thread_badly,
    thread_of_child,
)


def pdu(
    event_id: str,
    content: dict[str, Any],
    *,
    sender: str = "@a:x",
    event_type: str = "m.room.message",
    state_key: str | None = None,
    room_id: str = "!r:x",
) -> Pdu:
    event: dict[str, Any] = {
        "room_id": room_id,
        "sender": sender,
        "type": event_type,
        "content": content,
        "origin_server_ts": 1,
        "depth": 2,
        "prev_events": [],
        "auth_events": [],
        "hashes": {"sha256": "h"},
        "signatures": {},
    }
    if state_key is not None:
        event["state_key"] = state_key
    return Pdu.from_storage(event, "11", event_id)


def relates(rel_type: str, event_id: str = "$parent", **extra: Any) -> dict[str, Any]:
    return {"m.relates_to": {"rel_type": rel_type, "event_id": event_id, **extra}}


EDIT = {"body": "* b", "m.new_content": {"body": "b"}, **relates("m.replace")}
ORIGINAL = pdu("$parent", {"body": "a"})


def test_relation_of_reads_rel_type_parent_and_annotation_key() -> None:
    assert relation_of(relates("m.thread")) == Relation("m.thread", "$parent")
    assert relation_of(relates("m.annotation", key="👍")) == Relation(
        "m.annotation", "$parent", "👍"
    )
    # Other relation types are kept as they come (the /relations API lists them).
    assert relation_of(relates("org.example.vote")) == Relation("org.example.vote", "$parent")


@pytest.mark.parametrize(
    "content",
    [
        {},
        {"m.relates_to": "$parent"},
        # A rich reply has no rel_type: no relation.
        {"m.relates_to": {"m.in_reply_to": {"event_id": "$parent"}}},
        {"m.relates_to": {"rel_type": "m.thread"}},
        {"m.relates_to": {"rel_type": "m.thread", "event_id": 5}},
        {"m.relates_to": {"rel_type": "m.thread", "event_id": "not an event ID"}},
        {"m.relates_to": {"rel_type": "", "event_id": "$parent"}},
        relates("m.annotation"),  # no key
        relates("m.annotation", key=""),
        relates("m.annotation", key=["👍"]),
    ],
)
def test_malformed_relations_are_none(content: dict[str, Any]) -> None:
    assert relation_of(content) is None


def test_a_valid_edit_counts() -> None:
    edit = pdu("$edit", EDIT)
    assert counts(relation_of(EDIT), edit, ORIGINAL)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("edit", "original"),
    [
        (pdu("$e", EDIT, sender="@mallory:x"), ORIGINAL),  # someone else's message
        (pdu("$e", EDIT, event_type="m.sticker"), ORIGINAL),  # another type
        (pdu("$e", EDIT, state_key=""), ORIGINAL),  # a state event as edit
        (pdu("$e", EDIT), pdu("$parent", {"body": "a"}, state_key="")),  # of state
        (pdu("$e", EDIT), pdu("$parent", {"body": "* a", **relates("m.replace", "$o")})),
        (pdu("$e", {"body": "* b", **relates("m.replace")}), ORIGINAL),  # no m.new_content
        (pdu("$e", EDIT, room_id="!other:x"), ORIGINAL),  # another room
    ],
)
def test_invalid_edits_do_not_count(edit: Pdu, original: Pdu) -> None:
    relation = relation_of(edit.content)
    assert relation is not None
    assert not counts(relation, edit, original)


def test_an_encrypted_edit_counts_without_visible_new_content() -> None:
    content = {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "…", **relates("m.replace")}
    edit = pdu("$e", content, event_type="m.room.encrypted")
    original = pdu("$parent", {"ciphertext": "…"}, event_type="m.room.encrypted")
    assert counts(relation_of(content), edit, original)  # type: ignore[arg-type]


def test_annotations_of_annotations_and_edits_do_not_count() -> None:
    content = relates("m.annotation", key="👍")
    reaction = pdu("$r", content)
    relation = relation_of(content)
    assert relation is not None
    assert counts(relation, reaction, ORIGINAL)
    # Any event type may be annotated, state events too.
    assert counts(relation, reaction, pdu("$parent", {"name": "n"}, state_key=""))
    for above in ("m.annotation", "m.replace"):
        parent = pdu("$parent", relates(above, "$o", key="x"))
        assert not counts(relation, reaction, parent)


def test_threads_start_only_from_events_without_a_relation() -> None:
    relation = Relation("m.thread", "$parent")
    assert not starts_thread_badly(relation, ORIGINAL)
    reply = {"body": "a", "m.relates_to": {"m.in_reply_to": {"event_id": "$x"}}}
    assert not starts_thread_badly(relation, pdu("$parent", reply))  # a reply may be a root
    assert starts_thread_badly(relation, pdu("$parent", relates("m.thread", "$root")))
    assert not starts_thread_badly(Relation("m.reference", "$parent"), pdu("$p", relates("x")))


def test_a_child_is_in_its_roots_thread_or_where_its_parent_is() -> None:
    assert thread_of_child(Relation("m.thread", "$root"), None) == "$root"
    # An edit of a thread reply is in that thread; a reaction to a root is not.
    assert thread_of_child(Relation("m.replace", "$reply"), "$root") == "$root"
    assert thread_of_child(Relation("m.annotation", "$root", "👍"), None) is None
