"""The shapes and signatures of end-to-end encryption keys (spec: "End-to-End Encryption").

Pure checks of what clients upload: device keys, one-time and fallback keys,
cross-signing keys, signatures over them, and the rule that decides which of
two backed-up copies of a session key the server keeps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from revier.errors import BadJson, InvalidParam
from revier.events.canonical_json import encode_canonical_json
from revier.events.signing import verify_signature_bytes
from revier.events.types import JsonDict

ED25519 = "ed25519"
CURVE25519 = "curve25519"
CROSS_SIGNING_USAGES = ("master", "self_signing", "user_signing")
# Key IDs and algorithm names are short; a bound keeps rows and indexes sane.
_MAX_ID = 255


def _signable(obj: Mapping[str, Any]) -> bytes:
    return encode_canonical_json(
        {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
    )


def signature_ok(obj: Mapping[str, Any], user_id: str, key_id: str, public_key: str) -> bool:
    """Appendix "Checking for a Signature": ``user_id``'s signature with ``key_id`` verifies."""
    signatures = obj.get("signatures")
    by_user = signatures.get(user_id) if isinstance(signatures, Mapping) else None
    signature = by_user.get(key_id) if isinstance(by_user, Mapping) else None
    if not isinstance(signature, str):
        return False
    try:
        message = _signable(obj)
    except BadJson:
        return False
    return verify_signature_bytes(message, signature, public_key)


def same_signed_content(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two copies of a key object differ at most in signatures and unsigned data."""
    strip = ("signatures", "unsigned")
    return {k: v for k, v in a.items() if k not in strip} == {
        k: v for k, v in b.items() if k not in strip
    }


def check_signatures_shape(obj: Mapping[str, Any], what: str) -> dict[str, dict[str, str]]:
    signatures = obj.get("signatures", {})
    if not isinstance(signatures, dict) or not all(
        isinstance(u, str)
        and isinstance(s, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in s.items())
        for u, s in signatures.items()
    ):
        raise BadJson(f"'signatures' of {what} must map user IDs to key IDs to signatures")
    return signatures


def check_device_keys(keys: Any, user_id: str, device_id: str) -> JsonDict:
    """A DeviceKeys object for the uploading device, self-signed by its Ed25519 key."""
    if not isinstance(keys, dict):
        raise BadJson("'device_keys' must be an object")
    if keys.get("user_id") != user_id or keys.get("device_id") != device_id:
        raise InvalidParam("device_keys must be for your own user and the device you log in with")
    algorithms = keys.get("algorithms")
    if not isinstance(algorithms, list) or not all(isinstance(a, str) for a in algorithms):
        raise BadJson("'algorithms' must be a list of strings")
    key_map = keys.get("keys")
    if not isinstance(key_map, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in key_map.items()
    ):
        raise BadJson("'keys' must map key IDs to keys")
    for key_id in key_map:
        algorithm, _, kid = key_id.partition(":")
        if not algorithm or kid != device_id:
            raise InvalidParam(f"Key ID {key_id!r} is not of the form <algorithm>:{device_id}")
    check_signatures_shape(keys, "device_keys")
    ed25519 = key_map.get(f"{ED25519}:{device_id}")
    if ed25519 is None:
        raise InvalidParam(f"device_keys must hold the key {ED25519}:{device_id}")
    if not signature_ok(keys, user_id, f"{ED25519}:{device_id}", ed25519):
        raise InvalidParam("device_keys must be signed by the device's own Ed25519 key")
    return keys


def identity_keys(keys: Mapping[str, Any]) -> dict[str, str]:
    """The Ed25519 and Curve25519 keys of a DeviceKeys object: what makes the device itself."""
    key_map = keys.get("keys")
    if not isinstance(key_map, Mapping):
        return {}
    return {
        k: v
        for k, v in key_map.items()
        if isinstance(k, str) and k.partition(":")[0] in (ED25519, CURVE25519)
    }


def parse_one_time_keys(value: Any, name: str) -> list[tuple[str, str, JsonDict | str]]:
    """``{"<algorithm>:<key_id>": key}`` as (algorithm, key_id, key) triples.

    A key is an object (signed) or, for unsigned algorithms, a bare string.
    """
    if value is None:
        return []
    if not isinstance(value, dict):
        raise BadJson(f"'{name}' must be an object")
    out: list[tuple[str, str, JsonDict | str]] = []
    for full_id, key in value.items():
        algorithm, sep, key_id = full_id.partition(":")
        if not sep or not algorithm or not key_id or len(full_id) > _MAX_ID:
            raise InvalidParam(f"Key ID {full_id!r} in '{name}' is not <algorithm>:<key_id>")
        if isinstance(key, dict):
            if not isinstance(key.get("key"), str):
                raise BadJson(f"Key {full_id!r} in '{name}' must have a string 'key'")
            check_signatures_shape(key, full_id)
        elif not isinstance(key, str):
            raise BadJson(f"Key {full_id!r} in '{name}' must be an object or a string")
        out.append((algorithm, key_id, key))
    return out


def check_cross_signing_key(key: Any, user_id: str, usage: str) -> str:
    """A CrossSigningKey of ``user_id`` for ``usage``; returns its unpadded base64 public key."""
    if not isinstance(key, dict):
        raise BadJson(f"The {usage} key must be an object")
    if key.get("user_id") != user_id:
        raise InvalidParam(f"The {usage} key must be for {user_id}")
    usages = key.get("usage")
    if not isinstance(usages, list) or usage not in usages:
        raise InvalidParam(f"The {usage} key must list {usage!r} in 'usage'")
    key_map = key.get("keys")
    if not isinstance(key_map, dict) or len(key_map) != 1:
        raise InvalidParam(f"The {usage} key must have exactly one key in 'keys'")
    ((key_id, public_key),) = key_map.items()
    if not isinstance(public_key, str) or key_id != f"{ED25519}:{public_key}":
        raise InvalidParam(f"The {usage} key must be named ed25519:<its public key>")
    check_signatures_shape(key, f"the {usage} key")
    return public_key


def keep_existing_backup(existing: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Spec "Server-side key backups": which copy of a session key the server keeps.

    A verified copy beats an unverified one; then the lower
    ``first_message_index`` (it decrypts more); then the lower
    ``forwarded_count`` (fewer hands it passed through).
    """
    if existing["is_verified"] != new["is_verified"]:
        return bool(existing["is_verified"])
    if existing["first_message_index"] != new["first_message_index"]:
        return bool(existing["first_message_index"] < new["first_message_index"])
    return bool(existing["forwarded_count"] <= new["forwarded_count"])
