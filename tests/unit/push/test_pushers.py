"""POST /pushers/set bodies: what is accepted, and why the rest is refused."""

from __future__ import annotations

from typing import Any

import pytest

from revier.errors import BadJson, InvalidParam, MissingParam
from revier.push.pushers import PusherRequest, validate_pusher_request

GATEWAYS = ["https://push.police.example:443", "http://127.0.0.1:8090"]
URL = "https://push.police.example/_matrix/push/v1/notify"


def body(**changes: Any) -> dict[str, Any]:
    """What Element X sends (rust-sdk ``Client::set_pusher``)."""
    b: dict[str, Any] = {
        "kind": "http",
        "app_id": "io.element.elementx.ios.prod",
        "pushkey": "A" * 44,
        "app_display_name": "Element X (iOS)",
        "device_display_name": "iPhone",
        "lang": "de-DE",
        "profile_tag": "Zq3…",
        "data": {"url": URL, "format": "event_id_only", "default_payload": {"aps": {}}},
        "append": False,
    }
    b.update(changes)
    return {k: v for k, v in b.items() if v is not ...}


def test_what_element_x_sends_is_taken_as_it_is() -> None:
    request = validate_pusher_request(body(), GATEWAYS)
    assert request.kind == "http"
    assert request.data == body()["data"]
    assert (request.lang, request.append) == ("de-DE", False)


def test_delete_needs_only_the_pair() -> None:
    request = validate_pusher_request({"app_id": "a", "pushkey": "k", "kind": None}, GATEWAYS)
    assert request == PusherRequest(None, "a", "k")


@pytest.mark.parametrize(
    "url",
    [
        "https://push.police.example:443/_matrix/push/v1/notify",
        "http://127.0.0.1:8090/_matrix/push/v1/notify",
        "HTTPS://PUSH.police.example/_matrix/push/v1/notify",
    ],
)
def test_urls_of_an_allowed_gateway(url: str) -> None:
    validate_pusher_request(body(data={"url": url}), GATEWAYS)


@pytest.mark.parametrize(
    "url",
    [
        "https://matrix.org/_matrix/push/v1/notify",  # not the organisation's
        "https://push.police.example:8443/_matrix/push/v1/notify",  # another port
        "http://push.police.example/_matrix/push/v1/notify",  # not https
        "http://127.0.0.1:22/_matrix/push/v1/notify",  # another service here
        "http://169.254.169.254/_matrix/push/v1/notify",  # cloud metadata
        "https://push.police.example@evil.example/_matrix/push/v1/notify",
        "https://push.police.example/other",
        "https://push.police.example/_matrix/push/v1/notify?x=1",
        "push.police.example/_matrix/push/v1/notify",
        "file:///_matrix/push/v1/notify",
    ],
)
def test_any_other_url_is_refused(url: str) -> None:
    with pytest.raises(InvalidParam):
        validate_pusher_request(body(data={"url": url}), GATEWAYS)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"kind": ...}, MissingParam),
        ({"lang": ..., "data": ...}, MissingParam),
        ({"data": {}}, MissingParam),
        ({"data": None}, BadJson),
        ({"data": []}, BadJson),
        ({"data": {"url": 1}}, BadJson),
        ({"app_id": 5}, BadJson),
        ({"append": "yes"}, BadJson),
        ({"kind": "email"}, InvalidParam),
        ({"kind": "carrier-pigeon"}, InvalidParam),
        ({"app_id": "a" * 65}, InvalidParam),
        ({"pushkey": "ä" * 257}, InvalidParam),  # 514 bytes
        ({"pushkey": ""}, InvalidParam),
        ({"lang": "x" * 257}, InvalidParam),
        ({"data": {"url": URL, "default_payload": "x" * 5000}}, InvalidParam),
    ],
)
def test_malformed_or_oversized_bodies(changes: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        validate_pusher_request(body(**changes), GATEWAYS)


def test_no_gateways_no_pushers() -> None:
    with pytest.raises(InvalidParam, match="own push gateway"):
        validate_pusher_request(body(), [])
