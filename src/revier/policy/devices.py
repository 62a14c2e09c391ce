"""How many devices an account may have."""

from __future__ import annotations

from revier.config import TenantPolicy
from revier.errors import Forbidden


def device_limit(policy: TenantPolicy, user_override: int | None) -> int:
    return user_override if user_override is not None else policy.max_devices_per_user


def check_new_device(limit: int, active_devices: int) -> None:
    """A login that would add one device too many is refused, saying how to free a slot."""
    if active_devices >= limit:
        raise Forbidden(
            f"This account may be logged in on at most {limit} devices. "
            "Sign out of a device you no longer use (Settings → Sessions on a device "
            "that is still logged in), or ask the help desk to remove one."
        )
