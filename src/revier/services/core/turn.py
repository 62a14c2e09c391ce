"""TURN credentials for calls (``GET /voip/turnServer``), in coturn's
``use-auth-secret`` scheme (the "TURN REST API"): the user name is
``<expiry unix seconds>:<user ID>``, the password base64(HMAC-SHA1(shared
secret, user name)). The TURN server recomputes the password from the same
secret and refuses a name whose expiry has passed; revier keeps nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from revier.config import StartupRefused
from revier.services.core.clock import Clock
from revier.services.core.requester import Requester
from revier.services.core.tenants import TenantRegistry


@dataclass(frozen=True, slots=True)
class TurnCredentials:
    username: str
    password: str
    uris: list[str]
    ttl: int


def turn_password(secret: bytes, username: str) -> str:
    digest = hmac.new(secret, username.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


class TurnService:
    def __init__(self, tenants: TenantRegistry, clock: Clock) -> None:
        self._clock = clock
        # Read once at start-up: a missing secret file stops the server with one
        # line, not a call with an error later.
        self._secrets: dict[str, bytes] = {}
        for tenant in tenants:
            turn = tenant.settings.turn
            if turn is not None:
                try:
                    self._secrets[tenant.server_name] = turn.secret()
                except ValueError as e:
                    raise StartupRefused(f"tenant {tenant.server_name}: {e}") from None

    def credentials(self, requester: Requester) -> TurnCredentials | None:
        """None where the tenant has no TURN server (the spec's empty answer)."""
        turn = requester.tenant.settings.turn
        secret = self._secrets.get(requester.tenant.server_name)
        if turn is None or secret is None:
            return None
        expiry = self._clock.time_ms() // 1000 + turn.user_lifetime
        username = f"{expiry}:{requester.user_id}"
        return TurnCredentials(
            username, turn_password(secret, username), list(turn.uris), turn.user_lifetime
        )
