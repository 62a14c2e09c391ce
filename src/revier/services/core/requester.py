"""Who is making a request: the owner of a valid access token."""

from __future__ import annotations

from dataclasses import dataclass

from revier.errors import Forbidden, UserSuspended
from revier.services.core.tenants import Tenant


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
    # Where the request came from (for the audit log).
    address: str = ""
    # Spec "Account suspension": may read, may not act (``require_not_suspended``).
    suspended: bool = False

    @property
    def localpart(self) -> str:
        return self.user_id[1:].split(":", 1)[0]


def require_self(requester: Requester, user_id: str, what: str) -> None:
    """Per-user data (account data, filters, profile, presence) is its owner's alone."""
    if requester.user_id != user_id:
        raise Forbidden(f"You can only {what}")


def require_not_suspended(requester: Requester) -> None:
    """Refuse what a suspended account may not do (spec "Account suspension":
    joining, knocking, inviting, sending, changing the profile, creating rooms)."""
    if requester.suspended:
        raise UserSuspended()
