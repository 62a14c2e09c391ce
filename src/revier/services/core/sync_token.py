"""Sync tokens: the stream position and the typing serial, as ``s<position>_<typing>``.

A third part, ``_<to_device>``, appears only when a /sync delivered fewer
to-device messages than were waiting (they are capped per response): it is
the position of the last message delivered, so the next sync continues from
there while everything else continues from ``position``.
"""

from __future__ import annotations

from dataclasses import dataclass

from revier.errors import InvalidParam


@dataclass(frozen=True, slots=True)
class SyncToken:
    position: int
    typing: int = 0
    to_device: int | None = None

    def encode(self) -> str:
        if self.to_device is not None:
            return f"s{self.position}_{self.typing}_{self.to_device}"
        return f"s{self.position}_{self.typing}"

    @property
    def to_device_position(self) -> int:
        """Where the to-device stream stands: every message up to here was delivered."""
        return self.position if self.to_device is None else self.to_device

    @classmethod
    def parse(cls, token: str) -> SyncToken:
        try:
            if not token.startswith("s"):
                raise ValueError(token)
            position, _, rest = token[1:].partition("_")
            typing, _, to_device = rest.partition("_")
            parsed = cls(int(position), int(typing or 0), int(to_device) if to_device else None)
        except ValueError:
            raise InvalidParam(f"{token!r} is not a token this server gave out") from None
        if (
            parsed.position < 0
            or parsed.typing < 0
            or (parsed.to_device is not None and not 0 <= parsed.to_device <= parsed.position)
        ):
            raise InvalidParam(f"{token!r} is not a token this server gave out")
        return parsed
