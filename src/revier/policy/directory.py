"""Who may publish rooms in the tenant's public room directory."""

from __future__ import annotations

from revier.config import TenantPolicy
from revier.errors import Forbidden


def check_may_publish(policy: TenantPolicy, *, is_admin: bool) -> None:
    """``public_rooms_require_admin`` reserves publishing to the organisation's admins."""
    if policy.public_rooms_require_admin and not is_admin:
        raise Forbidden("Only administrators of this organisation may publish rooms")
