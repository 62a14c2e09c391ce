"""The keys second factors are kept under, each derived for one purpose from the
installation's second-factor key (``<data_dir>/keys/second_factor.key``, made at
first start like the access-token key).

- TOTP secrets are sealed with XChaCha20-Poly1305 (an AEAD), the user ID as
  associated data: a copy of the database alone yields no secret, and a sealed
  secret moved to another account's row doesn't open there.
- Recovery codes are kept as an HMAC-SHA256. A slow password hash (Argon2) exists
  to make guessing low-entropy passwords expensive; a recovery code is 79 random
  bits, which no one guesses at any speed, and the key means a copy of the
  database alone can't even test a guess. A keyed hash also lets a code be
  checked in microseconds, not the 100 ms an Argon2 check takes per code.
- Client addresses are counted as an HMAC (``signin_failures`` holds no address).
"""

from __future__ import annotations

import hashlib
import hmac
import os

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
)

_NONCE = 24
_VERSION = b"\x01"  # the format of a sealed secret, should it ever change


def _derive(master: bytes, purpose: bytes) -> bytes:
    return hashlib.blake2b(master, digest_size=32, person=purpose).digest()


class FactorKeys:
    def __init__(self, master: bytes) -> None:
        self._seal = _derive(master, b"revier.totp.seal")
        self._codes = _derive(master, b"revier.recovery")
        self._addresses = _derive(master, b"revier.address")
        self._user_handles = _derive(master, b"revier.webauthn")

    def seal(self, user_id: str, secret: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        box = crypto_aead_xchacha20poly1305_ietf_encrypt(
            secret, user_id.encode(), nonce, self._seal
        )
        return _VERSION + nonce + box

    def open(self, user_id: str, sealed: bytes) -> bytes:
        """The secret; raises ``nacl.exceptions.CryptoError`` if it was altered or
        belongs to another account."""
        nonce, box = sealed[1 : 1 + _NONCE], sealed[1 + _NONCE :]
        return crypto_aead_xchacha20poly1305_ietf_decrypt(box, user_id.encode(), nonce, self._seal)

    def code_hash(self, user_id: str, code: str) -> bytes:
        message = user_id.encode() + b"\x00" + code.encode()
        return hmac.new(self._codes, message, hashlib.sha256).digest()

    def address(self, address: str) -> str:
        return hmac.new(self._addresses, address.encode(), hashlib.sha256).hexdigest()[:32]

    def user_handle(self, user_id: str) -> bytes:
        """The WebAuthn user handle: stable per account, naming no one (the spec
        asks that it hold no personal data)."""
        return hmac.new(self._user_handles, user_id.encode(), hashlib.sha256).digest()
