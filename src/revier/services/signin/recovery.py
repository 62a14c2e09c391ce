"""Recovery codes: ten single-use codes shown once, for when the phone is lost.
Each is 16 characters of a 31-symbol alphabet (79 random bits), in groups of
four; typing them in another case, with spaces or without hyphens still works."""

from __future__ import annotations

import secrets

COUNT = 10
# No 0/o, 1/l/i: codes are read off paper and typed back. 31 symbols.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_LENGTH = 16


def new_codes() -> list[str]:
    return [_grouped(_random()) for _ in range(COUNT)]


def _random() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))


def _grouped(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise(typed: str) -> str | None:
    """The code as stored, or None if it can't be one (then nothing is looked up)."""
    code = "".join(typed.split()).replace("-", "").lower()
    if len(code) != _LENGTH or any(c not in _ALPHABET for c in code):
        return None
    return _grouped(code)
