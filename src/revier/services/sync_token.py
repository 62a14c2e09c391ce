"""Sync tokens: the stream position and the typing serial, as ``s<position>_<typing>``."""

from __future__ import annotations

from dataclasses import dataclass

from revier.errors import InvalidParam


@dataclass(frozen=True, slots=True)
class SyncToken:
    position: int
    typing: int = 0

    def encode(self) -> str:
        return f"s{self.position}_{self.typing}"

    @classmethod
    def parse(cls, token: str) -> SyncToken:
        try:
            if not token.startswith("s"):
                raise ValueError(token)
            position, _, typing = token[1:].partition("_")
            parsed = cls(int(position), int(typing or 0))
        except ValueError:
            raise InvalidParam(f"{token!r} is not a token this server gave out") from None
        if parsed.position < 0 or parsed.typing < 0:
            raise InvalidParam(f"{token!r} is not a token this server gave out")
        return parsed
