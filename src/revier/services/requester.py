"""Who is making a request: the owner of a valid access token."""

from __future__ import annotations

from dataclasses import dataclass

from revier.services.tenants import Tenant


@dataclass(frozen=True, slots=True)
class Requester:
    user_id: str
    device_id: str
    tenant: Tenant
    is_admin: bool
    # Hash of the access token used, so /logout can end exactly this session.
    token_hash: bytes
    # Guests reach only the endpoints of the spec's guest access module.
    is_guest: bool = False

    @property
    def localpart(self) -> str:
        return self.user_id[1:].split(":", 1)[0]
