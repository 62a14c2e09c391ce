"""Signing keys, JSON signatures and event signatures (appendix test vectors)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from revier.errors import InvalidSignature
from revier.events.hashing import compute_content_hash
from revier.events.signing import (
    ServerSigningKey,
    decode_signing_key_base64,
    encode_signing_key_base64,
    generate_signing_key,
    get_verify_key,
    key_id_of,
    sign_event,
    sign_json,
    verify_event_signature,
    verify_json_signature,
)

from .conftest import APPENDIX_SEED, MINIMAL_EVENT, REDACTABLE_EVENT, appendix_key


def test_appendix_signs_empty_object() -> None:
    assert sign_json({}, "domain", appendix_key()) == {
        "signatures": {
            "domain": {
                "ed25519:1": "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Ge"
                "itb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ"
            }
        }
    }


def test_appendix_signs_object_with_values() -> None:
    assert sign_json({"one": 1, "two": "Two"}, "domain", appendix_key()) == {
        "one": 1,
        "signatures": {
            "domain": {
                "ed25519:1": "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6"
                "/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw"
            }
        },
        "two": "Two",
    }


def _hashed(event: dict[str, Any]) -> dict[str, Any]:
    return {**event, "hashes": {"sha256": compute_content_hash(event)}}


@pytest.mark.parametrize(
    ("event", "signature"),
    [
        (
            MINIMAL_EVENT,
            "KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbO"
            "oMszkwsQma+lYAg",
        ),
        (
            REDACTABLE_EVENT,
            "Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241e"
            "YHYMGCA5McEiVPdhzBA",
        ),
    ],
)
def test_appendix_event_signing(event: dict[str, Any], signature: str) -> None:
    # The appendix vectors keep `origin` in the signed (redacted) form, which is
    # the redaction algorithm of room version 10 (v9), not v11.
    signed = sign_event(_hashed(event), "domain", appendix_key(), "10")
    assert signed["signatures"] == {"domain": {"ed25519:1": signature}}
    assert signed["unsigned"] == event["unsigned"]
    assert signed["content"] == event["content"]


def test_sign_json_keeps_unsigned_and_other_signatures_and_copies() -> None:
    original = {"a": 1, "unsigned": {"age": 1}, "signatures": {"other": {"ed25519:x": "sig"}}}
    before = copy.deepcopy(original)
    signed = sign_json(original, "domain", appendix_key())
    assert original == before
    assert signed["unsigned"] == {"age": 1}
    assert set(signed["signatures"]) == {"other", "domain"}
    verify_json_signature(signed, "domain", get_verify_key(appendix_key()))


def test_verify_json_detects_tampering() -> None:
    signed = sign_json({"a": 1}, "domain", appendix_key())
    with pytest.raises(InvalidSignature):
        verify_json_signature({**signed, "a": 2}, "domain", get_verify_key(appendix_key()))


@pytest.mark.parametrize(
    "signatures",
    [
        None,
        {},
        {"domain": {}},
        {"domain": {"ed25519:1": "!!notbase64"}},
        {"domain": {"ed25519:1": 5}},
        {"domain": {"ed25519:1": "AAAA"}},
    ],
)
def test_verify_json_rejects_missing_or_malformed(signatures: Any) -> None:
    obj: dict[str, Any] = {"a": 1}
    if signatures is not None:
        obj["signatures"] = signatures
    with pytest.raises(InvalidSignature):
        verify_json_signature(obj, "domain", get_verify_key(appendix_key()))


@pytest.mark.parametrize("version", ["10", "11", "12"])
def test_event_signature_survives_redaction_and_unsigned(version: str) -> None:
    signed = sign_event(_hashed(REDACTABLE_EVENT), "domain", appendix_key(), version)
    verify_key = get_verify_key(appendix_key())
    verify_event_signature(signed, "domain", verify_key, version)
    verify_event_signature(
        {**signed, "content": {}, "unsigned": {"x": 1}}, "domain", verify_key, version
    )
    with pytest.raises(InvalidSignature):
        verify_event_signature({**signed, "sender": "@v:domain"}, "domain", verify_key, version)
    with pytest.raises(InvalidSignature):
        verify_event_signature(signed, "other.example", verify_key, version)


def test_v10_signature_covers_origin_but_v11_does_not() -> None:
    verify_key = get_verify_key(appendix_key())
    for version, covered in (("10", True), ("11", False)):
        signed = sign_event(_hashed(MINIMAL_EVENT), "domain", appendix_key(), version)
        moved = {**signed, "origin": "elsewhere"}
        if covered:
            with pytest.raises(InvalidSignature):
                verify_event_signature(moved, "domain", verify_key, version)
        else:
            verify_event_signature(moved, "domain", verify_key, version)


def test_key_generation_and_base64_round_trip() -> None:
    key = generate_signing_key("abc")
    assert key_id_of(key) == "ed25519:abc"
    decoded = decode_signing_key_base64("ed25519", "abc", encode_signing_key_base64(key))
    assert decoded.encode() == key.encode()
    assert key_id_of(get_verify_key(decoded)) == "ed25519:abc"


def test_appendix_seed_is_the_key() -> None:
    assert appendix_key().encode() == APPENDIX_SEED


def test_server_signing_key() -> None:
    server_key = ServerSigningKey("domain", appendix_key())
    assert server_key.key_id == "ed25519:1"
    signed = sign_json({}, server_key.server_name, server_key.signing_key)
    verify_json_signature(signed, "domain", server_key.verify_key)
    assert len(server_key.verify_key_base64) == 43


def test_unknown_algorithm_is_refused() -> None:
    with pytest.raises(ValueError, match="Unsupported"):
        decode_signing_key_base64("rsa", "1", "AAAA")
