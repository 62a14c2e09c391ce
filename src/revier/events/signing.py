"""Ed25519 signing of JSON objects and events (appendix "Signing JSON",
server-server API "Signing Events").

Keys are signedjson's objects (PyNaCl keys carrying ``alg`` and ``version``);
the signing itself uses this package's canonical JSON so that signing,
hashing and event ids agree on one encoder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import nacl.exceptions
import nacl.signing
from signedjson.key import (
    decode_signing_key_base64,
    decode_verify_key_base64,
    encode_signing_key_base64,
    encode_verify_key_base64,
    generate_signing_key,
    get_verify_key,
)
from signedjson.types import SigningKey, VerifyKey
from unpaddedbase64 import decode_base64, encode_base64

from revier.errors import InvalidSignature
from revier.events.canonical_json import encode_canonical_json
from revier.events.redaction import redact
from revier.events.room_versions import RoomVersion, get_room_version
from revier.events.types import JsonDict, json_copy

__all__ = [
    "ServerSigningKey",
    "SigningKey",
    "VerifyKey",
    "decode_signing_key_base64",
    "decode_verify_key_base64",
    "encode_signing_key_base64",
    "encode_verify_key_base64",
    "generate_signing_key",
    "get_verify_key",
    "key_id_of",
    "sign_event",
    "sign_json",
    "signing_key_from_seed",
    "verify_event_signature",
    "verify_json_signature",
]

# "The currently supported value for signing algorithm is ed25519."
ED25519 = "ed25519"


def signing_key_from_seed(seed: bytes, version: str) -> SigningKey:
    """A signing key from its 32-byte seed (how the appendix test vectors give it)."""
    return decode_signing_key_base64(ED25519, version, encode_base64(seed))


def key_id_of(key: SigningKey | VerifyKey) -> str:
    """The signing key identifier, ``<algorithm>:<version>``."""
    return f"{key.alg}:{key.version}"


@dataclass(frozen=True)
class ServerSigningKey:
    """A tenant's signing key together with the name it signs as."""

    server_name: str
    signing_key: SigningKey

    @property
    def key_id(self) -> str:
        return key_id_of(self.signing_key)

    @property
    def verify_key(self) -> VerifyKey:
        return get_verify_key(self.signing_key)

    @property
    def verify_key_base64(self) -> str:
        return encode_verify_key_base64(self.verify_key)


def _signable_bytes(obj: Mapping[str, Any]) -> bytes:
    # "JSON is signed by encoding the JSON object without `signatures` or
    # keys grouped as `unsigned`".
    return encode_canonical_json(
        {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
    )


def sign_json(obj: Mapping[str, Any], server_name: str, signing_key: SigningKey) -> JsonDict:
    """Return a copy of ``obj`` with this key's signature added under ``signatures``.

    Existing signatures (from other servers, or other keys) are kept; they
    are not covered by the signature, which is what lets several servers
    sign one object.
    """
    signed = signing_key.sign(_signable_bytes(obj))
    result = json_copy(dict(obj))
    signatures = result.setdefault("signatures", {})
    signatures.setdefault(server_name, {})[key_id_of(signing_key)] = encode_base64(signed.signature)
    return result


def verify_json_signature(obj: Mapping[str, Any], server_name: str, verify_key: VerifyKey) -> None:
    """Appendix "Checking for a Signature", for one known key; InvalidSignature if absent/bad."""
    key_id = key_id_of(verify_key)
    signatures = obj.get("signatures")
    server_signatures = signatures.get(server_name) if isinstance(signatures, Mapping) else None
    if not isinstance(server_signatures, Mapping) or key_id not in server_signatures:
        raise InvalidSignature(f"No signature from {server_name} with key {key_id}")
    encoded = server_signatures[key_id]
    try:
        signature = decode_base64(encoded) if isinstance(encoded, str) else b""
        verify_key.verify(_signable_bytes(obj), signature)
    except (ValueError, nacl.exceptions.BadSignatureError) as exc:
        raise InvalidSignature(f"Bad signature from {server_name} with key {key_id}") from exc


def sign_event(
    event_dict: Mapping[str, Any],
    server_name: str,
    signing_key: SigningKey,
    room_version: RoomVersion | str,
) -> JsonDict:
    """Sign the redacted event and attach the signature to a copy of the full event.

    Signing the redacted form is what keeps signatures valid after a
    redaction; the content hash (already in ``hashes``) covers the rest.
    """
    redacted = redact(event_dict, get_room_version(room_version))
    signed_redacted = sign_json(redacted, server_name, signing_key)
    result = json_copy(dict(event_dict))
    result["signatures"] = signed_redacted["signatures"]
    return result


def verify_event_signature(
    event_dict: Mapping[str, Any],
    server_name: str,
    verify_key: VerifyKey,
    room_version: RoomVersion | str,
) -> None:
    """Check ``server_name``'s signature on the redacted event; InvalidSignature if not valid.

    Works on the full event and on a redacted copy alike, as the spec requires.
    """
    redacted = redact(event_dict, get_room_version(room_version))
    verify_json_signature(redacted, server_name, verify_key)


def verify_signature_bytes(message: bytes, signature_b64: str, public_key_b64: str) -> bool:
    """Raw Ed25519 check with an unpadded-base64 key, for third-party invite keys."""
    try:
        key = nacl.signing.VerifyKey(decode_base64(public_key_b64))
        key.verify(message, decode_base64(signature_b64))
    except (ValueError, TypeError, nacl.exceptions.CryptoError):
        return False
    return True
