"""A tenant's TURN servers (``[tenants.turn]``): what ``GET /voip/turnServer``
hands out. Part of the settings (``revier.config``); a module of its own only
to keep that one readable.

The credentials are coturn's ``use-auth-secret`` scheme (the "TURN REST API"):
revier and the TURN server share a secret, and revier derives short-lived
passwords from it; the TURN server checks them without asking revier.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

_TURN_URI = re.compile(r"^turns?:[^\s?]+(\?transport=(udp|tcp))?$")


class TurnSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # "turn:turn.police.example:3478?transport=udp", "turns:…:5349?transport=tcp".
    uris: list[str] = Field(min_length=1)
    # coturn's static-auth-secret. Give it here (or as the environment variable
    # REVIER_TENANTS__<n>__TURN__SHARED_SECRET), or as a file readable only by
    # revier (shared_secret_file), never both. It is never logged.
    shared_secret: SecretStr | None = None
    shared_secret_file: Path | None = None
    # How long a handed-out credential works, in seconds (clients ask again).
    user_lifetime: int = Field(86400, ge=60, le=7 * 86400)

    @field_validator("uris")
    @classmethod
    def _turn_uris(cls, uris: list[str]) -> list[str]:
        for uri in uris:
            if not _TURN_URI.match(uri):
                raise ValueError(f"{uri!r} is not a turn: or turns: URI")
        return uris

    @model_validator(mode="after")
    def _one_secret(self) -> TurnSettings:
        if (self.shared_secret is None) == (self.shared_secret_file is None):
            raise ValueError("give exactly one of shared_secret and shared_secret_file")
        return self

    def secret(self) -> bytes:
        """The shared secret, read from its file if it lives in one."""
        if self.shared_secret is not None:
            return self.shared_secret.get_secret_value().encode()
        assert self.shared_secret_file is not None
        try:
            text = self.shared_secret_file.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ValueError(f"can't read turn.shared_secret_file: {e.strerror}") from None
        if not text:
            raise ValueError("turn.shared_secret_file is empty")
        return text.encode()
