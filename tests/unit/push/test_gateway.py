"""The body of a push: the event_id_only shape unless the tenant allows more."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
import pytest

from revier.push.gateway import PushDevice, PushedEvent, event_push, rejected_pushkeys

EVENT = PushedEvent(
    "$ev",
    "!room:police.example",
    "m.room.message",
    "@anna:police.example",
    sender_display_name="Anna",
    room_name="Lage Nord",
    content={"msgtype": "m.text", "body": "Treffpunkt 14:00"},
)
ENCRYPTED = PushedEvent("$enc", "!room:police.example", "m.room.encrypted", "@anna:police.example")
ELEMENT_X = PushDevice.of(
    "io.element.elementx.ios.prod",
    "APNS-TOKEN",
    1_752_300_000_123,
    {
        "url": "https://push.police.example/_matrix/push/v1/notify",
        "format": "event_id_only",
        "default_payload": {
            "aps": {"mutable-content": 1},
            "pusher_notification_client_identifier": "x",
        },
    },
)
NO_FORMAT = PushDevice.of("app", "key", 5_000, {"url": "https://gw/_matrix/push/v1/notify"})


def push(event: PushedEvent, device: PushDevice, **kw: Any) -> dict[str, Any]:
    options: dict[str, Any] = {"unread": 2, "highlight": False, "content": "none", **kw}
    body: dict[str, Any] = orjson.loads(event_push(event, device, **options))
    return body["notification"]


@pytest.mark.parametrize("device", [ELEMENT_X, NO_FORMAT])
@pytest.mark.parametrize("event", [EVENT, ENCRYPTED])
def test_by_default_nothing_but_ids_and_counts_whatever_the_format(
    event: PushedEvent, device: PushDevice
) -> None:
    n = push(event, device)
    assert set(n) == {"event_id", "room_id", "prio", "counts", "devices"}
    assert n["counts"] == {"unread": 2}
    assert set(n["devices"][0]) == {"app_id", "pushkey", "pushkey_ts", "data"}


def test_the_device_carries_data_without_the_url() -> None:
    device = push(EVENT, ELEMENT_X)["devices"][0]
    assert device["pushkey_ts"] == 1_752_300_000
    assert device["data"] == {
        "format": "event_id_only",
        "default_payload": {
            "aps": {"mutable-content": 1},
            "pusher_notification_client_identifier": "x",
        },
    }


def test_priority_high_for_encrypted_highlights_and_on_request() -> None:
    assert push(ENCRYPTED, NO_FORMAT)["prio"] == "high"
    assert push(EVENT, NO_FORMAT)["prio"] == "low"
    assert push(EVENT, NO_FORMAT, highlight=True)["prio"] == "high"
    assert push(EVENT, NO_FORMAT, high=True)["prio"] == "high"


def test_a_zero_count_is_sent() -> None:
    assert push(EVENT, NO_FORMAT, unread=0)["counts"] == {"unread": 0}


def test_metadata_adds_names_and_type_but_no_content() -> None:
    n = push(EVENT, NO_FORMAT, content="metadata", highlight=True)
    assert n["type"] == "m.room.message"
    assert (n["sender"], n["sender_display_name"], n["room_name"]) == (
        "@anna:police.example",
        "Anna",
        "Lage Nord",
    )
    assert "content" not in n
    assert n["devices"][0]["tweaks"] == {"highlight": True}


def test_full_adds_content_of_unencrypted_events_only() -> None:
    assert push(EVENT, NO_FORMAT, content="full")["content"] == EVENT.content
    ciphertext = dataclasses.replace(ENCRYPTED, content={"ciphertext": "…"})
    assert "content" not in push(ciphertext, NO_FORMAT, content="full")


def test_a_pusher_asking_for_event_id_only_gets_it_even_when_more_is_allowed() -> None:
    n = push(EVENT, ELEMENT_X, content="full")
    assert set(n) == {"event_id", "room_id", "prio", "counts", "devices"}


def test_rejected_pushkeys_from_the_answer() -> None:
    assert rejected_pushkeys(b'{"rejected": ["a", "b"]}') == ["a", "b"]
    assert rejected_pushkeys(b"{}") == []
    assert rejected_pushkeys(b"<html>") is None
    assert rejected_pushkeys(b'{"rejected": "a"}') is None
    assert rejected_pushkeys(b"[]") is None
