"""The Pdu wrapper and build_pdu, for each room version's event format."""

from __future__ import annotations

from typing import Any

import pytest

from revier.errors import BadJson
from revier.events.hashing import compute_content_hash, compute_event_id
from revier.events.identifiers import is_valid_event_id, is_valid_room_id
from revier.events.pdu import Pdu, build_pdu
from revier.events.signing import get_verify_key, verify_event_signature

from .conftest import ALICE, BOB, RoomFixture, appendix_key, standard_room


def _build(version: str, **overrides: Any) -> Pdu:
    args: dict[str, Any] = {
        "room_id": "!room:example.org",
        "sender": ALICE,
        "event_type": "m.room.message",
        "content": {"body": "hi"},
        "prev_events": ["$prev"],
        "auth_events": ["$auth"],
        "depth": 5,
        "origin_server_ts": 1234,
        "origin_server_name": "example.org",
        "signing_key": appendix_key(),
    }
    args.update(overrides)
    return build_pdu(version, **args)


def test_build_pdu_is_hashed_signed_and_has_derived_id(version: str) -> None:
    pdu = _build(version)
    event = pdu.to_dict()
    assert "event_id" not in event
    assert event["hashes"] == {"sha256": compute_content_hash(event)}
    assert pdu.event_id == compute_event_id(event, version)
    assert is_valid_event_id(pdu.event_id)
    verify_event_signature(event, "example.org", get_verify_key(appendix_key()), version)
    assert (pdu.room_id, pdu.sender, pdu.type, pdu.depth) == (
        "!room:example.org",
        ALICE,
        "m.room.message",
        5,
    )
    assert (pdu.prev_events, pdu.auth_events, pdu.origin_server_ts) == (["$prev"], ["$auth"], 1234)
    assert pdu.content == {"body": "hi"}
    assert not pdu.is_state and pdu.state_key is None and pdu.state_key_tuple is None


def test_state_event_properties(version: str) -> None:
    pdu = _build(version, event_type="m.room.name", content={"name": "x"}, state_key="")
    assert pdu.is_state and pdu.state_key == "" and pdu.state_key_tuple == ("m.room.name", "")


def test_v12_create_event_has_no_room_id_but_derives_one() -> None:
    room = RoomFixture("12")
    assert "room_id" not in room.create.to_dict()
    assert room.create.room_id == "!" + room.create.event_id[1:]
    assert is_valid_room_id(room.create.room_id)
    assert room.create.client_format()["room_id"] == room.create.room_id


@pytest.mark.parametrize("version", ["10", "11"])
def test_before_v12_create_event_carries_its_room_id(version: str) -> None:
    room = RoomFixture(version)
    assert room.create.to_dict()["room_id"] == "!room:example.org" == room.create.room_id


def test_build_pdu_checks_room_id_presence() -> None:
    with pytest.raises(ValueError, match="room_id"):
        _build("12", event_type="m.room.create", state_key="", room_id="!r:example.org")
    with pytest.raises(ValueError, match="room_id"):
        _build("11", event_type="m.room.create", state_key="", room_id=None)
    with pytest.raises(ValueError, match="room_id"):
        _build("12", room_id=None)


def test_v10_redacts_is_top_level() -> None:
    pdu = _build("10", event_type="m.room.redaction", content={}, redacts="$target")
    assert pdu.to_dict()["redacts"] == "$target"
    assert "redacts" not in pdu.content
    assert pdu.redacts == "$target"


@pytest.mark.parametrize("version", ["11", "12"])
def test_v11_redacts_is_in_content(version: str) -> None:
    pdu = _build(version, event_type="m.room.redaction", content={}, redacts="$target")
    assert "redacts" not in pdu.to_dict()
    assert pdu.content["redacts"] == "$target"
    assert pdu.redacts == "$target"


def test_v11_ignores_top_level_redacts_and_v10_content_redacts() -> None:
    v11 = _build("11", event_type="m.room.redaction", content={}).to_dict()
    v11["redacts"] = "$top"
    assert Pdu(v11, "11").redacts is None
    v10 = _build("10", event_type="m.room.redaction", content={"redacts": "$in_content"})
    assert v10.redacts is None


@pytest.mark.parametrize("version", ["10", "11", "12"])
def test_client_format_serves_redacts_in_both_places(version: str) -> None:
    pdu = _build(version, event_type="m.room.redaction", content={"reason": "x"}, redacts="$target")
    client = pdu.client_format()
    assert client["redacts"] == "$target"
    assert client["content"] == {"reason": "x", "redacts": "$target"}


def test_client_format_shape(version: str) -> None:
    pdu = _build(version, event_type="m.room.topic", content={"topic": "t"}, state_key="")
    client = pdu.client_format({"age": 5})
    assert client == {
        "content": {"topic": "t"},
        "event_id": pdu.event_id,
        "origin_server_ts": 1234,
        "room_id": "!room:example.org",
        "sender": ALICE,
        "type": "m.room.topic",
        "state_key": "",
        "unsigned": {"age": 5},
    }
    assert "unsigned" not in _build(version).client_format()


def test_pdu_is_immutable_from_outside(version: str) -> None:
    source = _build(version).to_dict()
    pdu = Pdu(source, version)
    source["content"]["body"] = "changed"
    pdu.to_dict()["content"]["body"] = "changed"
    pdu.client_format()["content"]["body"] = "changed"
    assert pdu.content["body"] == "hi"
    with pytest.raises(AttributeError):
        pdu.sender = BOB  # type: ignore[misc]


def test_pdu_is_immutable_from_outside_with_nested_content(version: str) -> None:
    content = {"body": "hi", "m.mentions": {"user_ids": [BOB]}, "pair": ({"a": [1]},)}
    pdu = _build(version, content=content)
    source = pdu.to_dict()
    source["content"]["m.mentions"]["user_ids"].append(ALICE)
    pdu.client_format()["content"]["m.mentions"]["user_ids"].append(ALICE)
    pdu.client_format()["content"]["pair"][0]["a"].append(2)
    assert pdu.content["m.mentions"] == {"user_ids": [BOB]}
    assert pdu.content["pair"] == ({"a": [1]},)


def test_pdu_from_storage_trusts_its_id_and_takes_the_dict(version: str) -> None:
    data = _build(version).to_dict()
    pdu = Pdu.from_storage(data, version, "$stored")
    assert pdu.event_id == "$stored"
    assert pdu.to_dict() == data


def test_pdu_equality_is_by_event_id(version: str) -> None:
    pdu = _build(version)
    assert pdu == Pdu(pdu.to_dict(), version)
    assert len({pdu, Pdu(pdu.to_dict(), version)}) == 1
    assert pdu != _build(version, depth=6)


def test_known_event_id_is_trusted(version: str) -> None:
    pdu = Pdu(_build(version).to_dict(), version, event_id="$stored")
    assert pdu.event_id == "$stored"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("type", None),
        ("type", 5),
        ("sender", None),
        ("content", []),
        ("depth", "5"),
        ("depth", True),
        ("origin_server_ts", None),
        ("prev_events", "$x"),
        ("auth_events", [1]),
        ("hashes", None),
        ("signatures", None),
        ("state_key", 5),
        ("room_id", None),
    ],
)
def test_malformed_pdus_are_rejected(version: str, field: str, value: Any) -> None:
    event = _build(version).to_dict()
    if value is None:
        del event[field]
    else:
        event[field] = value
    with pytest.raises(BadJson):
        Pdu(event, version)


@pytest.mark.parametrize(("field", "count"), [("prev_events", 21), ("auth_events", 11)])
def test_too_many_references_are_rejected(version: str, field: str, count: int) -> None:
    event = _build(version).to_dict()
    event[field] = [f"$e{i}" for i in range(count)]
    with pytest.raises(BadJson, match="at most"):
        Pdu(event, version)
    event[field] = event[field][:-1]
    Pdu(event, version)


@pytest.mark.parametrize("bad", [{"x": 1.5}, {"x": 2**53}])
def test_build_pdu_rejects_non_canonical_content(version: str, bad: dict[str, Any]) -> None:
    with pytest.raises(BadJson):
        _build(version, content=bad)


def test_raw_fields_and_repr(version: str) -> None:
    room = standard_room(version)
    pdu = room.last
    assert pdu.get("depth") == pdu.depth and pdu.get("origin") is None
    assert "hashes" in pdu and "unsigned" not in pdu
    assert pdu.event_id in repr(pdu)
    assert pdu.room_version.identifier == version
    assert pdu.hashes["sha256"] and pdu.signatures["example.org"]
