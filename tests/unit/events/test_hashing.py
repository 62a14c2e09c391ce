"""Content hashes, reference hashes, event ids and v12 room ids."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from unpaddedbase64 import decode_base64, encode_base64

from revier.events.canonical_json import encode_canonical_json
from revier.events.hashing import (
    compute_content_hash,
    compute_event_id,
    compute_reference_hash,
    compute_room_id_from_create,
)
from revier.events.identifiers import is_valid_event_id, is_valid_room_id
from revier.events.redaction import redact

from .conftest import MINIMAL_EVENT, REDACTABLE_EVENT


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (MINIMAL_EVENT, "5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos"),
        (REDACTABLE_EVENT, "onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g"),
    ],
)
def test_appendix_content_hashes(event: dict[str, Any], expected: str) -> None:
    assert compute_content_hash(event) == expected


def test_content_hash_ignores_unsigned_signatures_and_hashes() -> None:
    changed = {
        **REDACTABLE_EVENT,
        "unsigned": {"age": 5},
        "signatures": {"x": {}},
        "hashes": {"sha256": "abc"},
    }
    assert compute_content_hash(changed) == compute_content_hash(REDACTABLE_EVENT)


def test_content_hash_covers_redactable_content() -> None:
    changed = {**REDACTABLE_EVENT, "content": {"body": "other"}}
    assert compute_content_hash(changed) != compute_content_hash(REDACTABLE_EVENT)


@pytest.mark.parametrize("version", ["10", "11", "12"])
def test_reference_hash_is_sha256_of_redacted_event(version: str) -> None:
    expected_input = redact(REDACTABLE_EVENT, version)
    del expected_input["signatures"]
    expected = hashlib.sha256(encode_canonical_json(expected_input)).digest()
    assert compute_reference_hash(REDACTABLE_EVENT, version) == expected


@pytest.mark.parametrize("version", ["10", "11", "12"])
def test_event_id_survives_redaction(version: str) -> None:
    event_id = compute_event_id(REDACTABLE_EVENT, version)
    assert compute_event_id(redact(REDACTABLE_EVENT, version), version) == event_id
    assert compute_event_id({**REDACTABLE_EVENT, "unsigned": {}}, version) == event_id


def test_event_id_format() -> None:
    event_id = compute_event_id(MINIMAL_EVENT, "11")
    assert event_id.startswith("$") and len(event_id) == 44
    assert "+" not in event_id and "/" not in event_id
    assert is_valid_event_id(event_id)
    reference_hash = compute_reference_hash(MINIMAL_EVENT, "11")
    assert decode_base64(event_id[1:].replace("-", "+").replace("_", "/")) == reference_hash


def test_v10_and_v11_ids_differ_where_redaction_differs() -> None:
    # `origin` is protected by the v10 (v9) redaction algorithm only.
    assert compute_event_id(MINIMAL_EVENT, "10") != compute_event_id(MINIMAL_EVENT, "11")
    assert compute_event_id(MINIMAL_EVENT, "11") == compute_event_id(MINIMAL_EVENT, "12")


def test_room_id_from_create_is_create_event_id_with_bang() -> None:
    create = {
        "type": "m.room.create",
        "state_key": "",
        "sender": "@a:domain",
        "content": {"room_version": "12"},
        "prev_events": [],
        "auth_events": [],
        "depth": 1,
        "origin_server_ts": 1,
        "hashes": {"sha256": "x"},
    }
    room_id = compute_room_id_from_create(create, "12")
    assert room_id == "!" + compute_event_id(create, "12")[1:]
    assert is_valid_room_id(room_id)
    url_safe = encode_base64(compute_reference_hash(create, "12"), urlsafe=True)
    assert room_id == "!" + url_safe
