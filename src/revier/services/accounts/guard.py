"""The seam to the lockout of failed sign-ins."""

from __future__ import annotations

from typing import Literal, Protocol

from revier.services.core import Tenant


class SignInGuard(Protocol):
    """The lockout of failed sign-ins (the signin wing's ``SignInAttempts``, handed
    in by the container: that wing sits above this one)."""

    async def check(self, tenant: Tenant, user_id: str | None, address: str) -> None: ...

    async def failed(
        self,
        tenant: Tenant,
        user_id: str | None,
        address: str,
        *,
        what: Literal["password", "code"],
    ) -> None: ...

    async def succeeded(self, tenant: Tenant, user_id: str, address: str) -> None: ...


def typed_user_id(tenant: Tenant, user: str) -> str:
    """The user ID for what was typed as the user name (a full ID or a localpart)."""
    return user if user.startswith("@") else tenant.user_id(user.lower())
