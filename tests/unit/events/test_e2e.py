"""Shapes and signatures of uploaded keys; the key backup replacement rule."""

from __future__ import annotations

from typing import Any

import nacl.signing
import pytest
from unpaddedbase64 import encode_base64

from revier.errors import BadJson, InvalidParam
from revier.events.canonical_json import encode_canonical_json
from revier.events.e2e import (
    check_cross_signing_key,
    check_device_keys,
    identity_keys,
    keep_existing_backup,
    parse_one_time_keys,
    same_signed_content,
    signature_ok,
)

ALICE = "@alice:example.org"


def _sign(obj: dict[str, Any], key_id: str, key: nacl.signing.SigningKey) -> dict[str, Any]:
    message = encode_canonical_json({k: v for k, v in obj.items() if k != "signatures"})
    signature = encode_base64(key.sign(message).signature)
    obj.setdefault("signatures", {}).setdefault(ALICE, {})[key_id] = signature
    return obj


def _device(key: nacl.signing.SigningKey) -> dict[str, Any]:
    public = encode_base64(bytes(key.verify_key))
    obj = {
        "user_id": ALICE,
        "device_id": "DEV",
        "algorithms": ["m.olm.v1.curve25519-aes-sha2"],
        "keys": {"ed25519:DEV": public, "curve25519:DEV": "curve"},
    }
    return _sign(obj, "ed25519:DEV", key)


def test_device_keys_must_be_self_signed_and_mine() -> None:
    key = nacl.signing.SigningKey.generate()
    keys = _device(key)
    assert check_device_keys(keys, ALICE, "DEV") is keys
    assert identity_keys(keys) == keys["keys"]
    with pytest.raises(InvalidParam):
        check_device_keys(keys, ALICE, "OTHER")
    with pytest.raises(InvalidParam):
        check_device_keys(keys, "@mallory:example.org", "DEV")
    tampered = {**keys, "algorithms": ["m.megolm.v1.aes-sha2"]}
    with pytest.raises(InvalidParam):
        check_device_keys(tampered, ALICE, "DEV")
    with pytest.raises(BadJson):
        check_device_keys({**keys, "keys": {"ed25519:DEV": 1}}, ALICE, "DEV")


def test_signatures_ignore_unsigned_and_other_signatures() -> None:
    key = nacl.signing.SigningKey.generate()
    keys = _device(key)
    public = keys["keys"]["ed25519:DEV"]
    with_extra = {**keys, "unsigned": {"device_display_name": "phone"}}
    assert signature_ok(with_extra, ALICE, "ed25519:DEV", public)
    assert same_signed_content(with_extra, keys)
    assert not signature_ok(keys, ALICE, "ed25519:OTHER", public)
    assert not signature_ok({**keys, "signatures": "nope"}, ALICE, "ed25519:DEV", public)


def test_one_time_keys_parse() -> None:
    parsed = parse_one_time_keys({"signed_curve25519:A": {"key": "k"}, "curve25519:B": "k2"}, "x")
    assert parsed == [("signed_curve25519", "A", {"key": "k"}), ("curve25519", "B", "k2")]
    for bad in ({"noalgorithm": "k"}, {"a:": "k"}):
        with pytest.raises(InvalidParam):
            parse_one_time_keys(bad, "x")
    with pytest.raises(BadJson):
        parse_one_time_keys({"a:b": {"nokey": 1}}, "x")


def test_cross_signing_key_shape() -> None:
    key = {"user_id": ALICE, "usage": ["master"], "keys": {"ed25519:PUB": "PUB"}}
    assert check_cross_signing_key(key, ALICE, "master") == "PUB"
    for bad in (
        {**key, "usage": ["self_signing"]},
        {**key, "keys": {"ed25519:PUB": "OTHER"}},
        {**key, "keys": {"ed25519:A": "A", "ed25519:B": "B"}},
        {**key, "user_id": "@bob:example.org"},
    ):
        with pytest.raises(InvalidParam):
            check_cross_signing_key(bad, ALICE, "master")


def _backup(verified: bool, index: int, forwarded: int) -> dict[str, Any]:
    return {"is_verified": verified, "first_message_index": index, "forwarded_count": forwarded}


@pytest.mark.parametrize(
    ("existing", "new", "keep"),
    [
        (_backup(True, 9, 9), _backup(False, 0, 0), True),  # verified wins
        (_backup(False, 0, 0), _backup(True, 9, 9), False),
        (_backup(False, 3, 9), _backup(False, 4, 0), True),  # then the lower index
        (_backup(False, 4, 0), _backup(False, 3, 9), False),
        (_backup(False, 3, 1), _backup(False, 3, 2), True),  # then fewer forwards
        (_backup(False, 3, 2), _backup(False, 3, 1), False),
        (_backup(False, 3, 1), _backup(False, 3, 1), True),  # a tie keeps what is there
    ],
)
def test_backup_replacement_rule(existing: Any, new: Any, keep: bool) -> None:
    assert keep_existing_backup(existing, new) is keep
