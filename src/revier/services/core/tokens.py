"""Access tokens: random, shown to the client once, stored only as a keyed hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_PREFIX = "rvat_"


class TokenHasher:
    """HMAC-SHA256 under an installation secret.

    A keyed hash (not a plain one) means that a copy of the database alone
    can't even confirm a guessed token.
    """

    def __init__(self, key: bytes) -> None:
        self._key = key

    def hash(self, token: str) -> bytes:
        return hmac.new(self._key, token.encode("utf-8"), hashlib.sha256).digest()

    @staticmethod
    def new_token() -> str:
        return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_device_id() -> str:
    # Upper-case letters like other servers: easy to read out to the help desk.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return "".join(secrets.choice(alphabet) for _ in range(10))
