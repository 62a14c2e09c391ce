"""Passwords kept outside revier: an account the organisation's directory
manages signs in with the directory's password, checked there (the org wing's
``DirectoryPasswords``, handed in by the container — this wing sits below it
and can't import it)."""

from __future__ import annotations

from typing import Protocol

from revier.services.core import Tenant, User, verify_password


class ExternalPasswords(Protocol):
    async def check(self, tenant: Tenant, user_id: str, password: str) -> bool | None:
        """Whether the password is right; None when the account's password is
        revier's own to check."""
        ...


async def check_password(
    external: ExternalPasswords | None, tenant: Tenant, account: User | None, password: str
) -> bool:
    """The directory's answer for an account it manages, else revier's hash. A
    closed account is never asked of the directory."""
    if account is not None and not account.deactivated and external is not None:
        answer = await external.check(tenant, account.user_id, password)
        if answer is not None:
            return answer
    return await verify_password(account.password_hash if account else None, password)
