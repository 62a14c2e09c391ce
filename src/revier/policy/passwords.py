"""The tenant's password policy."""

from __future__ import annotations

from revier.config import TenantPolicy
from revier.errors import WeakPassword


def check_password(policy: TenantPolicy, password: str, *, localpart: str) -> None:
    """Refuse passwords that are short or merely the user's own name."""
    if len(password) < policy.password_min_length:
        raise WeakPassword(
            f"The password must be at least {policy.password_min_length} characters long"
        )
    if localpart and localpart.lower() in password.lower():
        raise WeakPassword("The password must not contain the user name")
    if len(password.encode("utf-8")) > 4096:
        raise WeakPassword("The password must be at most 4096 bytes long")
