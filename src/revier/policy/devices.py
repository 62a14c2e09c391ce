"""How many devices an account may have."""

from __future__ import annotations

from revier.config import TenantPolicy
from revier.errors import Forbidden, InvalidParam

# The same bounds as the tenant setting max_devices_per_user.
MIN_DEVICE_LIMIT = 1
MAX_DEVICE_LIMIT = 100


def device_limit(policy: TenantPolicy, user_override: int | None) -> int:
    return user_override if user_override is not None else policy.max_devices_per_user


def check_device_limit(max_devices: int | None) -> None:
    """A per-user limit an admin sets: 1 to 100, or None for the tenant's default."""
    if max_devices is not None and not MIN_DEVICE_LIMIT <= max_devices <= MAX_DEVICE_LIMIT:
        raise InvalidParam(
            f"max_devices must be between {MIN_DEVICE_LIMIT} and {MAX_DEVICE_LIMIT}, "
            "or null for the organisation's default"
        )


def check_new_device(limit: int, active_devices: int) -> None:
    """A login that would add one device too many is refused, saying how to free a slot.

    Only new devices count: logging in again with the ID of a device the
    account already has replaces that device's session (the caller doesn't ask).
    """
    if active_devices >= limit:
        raise Forbidden(
            f"This account may be logged in on at most {limit} devices, and all of them "
            "are in use. To free one, remove a device from one you are still logged in "
            "on (Settings → Sessions), or ask the help desk to remove one."
        )
