"""Message retention: a room's ``m.room.retention`` state within its tenant's bounds.

The state event is MSC1763's, as Synapse reads it: ``max_lifetime`` (ms) is how
long a message lives after it was sent; ``min_lifetime`` (ms) is accepted and
kept, and, as in Synapse, has no effect (it promises nothing a server must do).
Neither applies to state events.

A room's admins choose ``max_lifetime`` within the tenant's bounds; a value
outside them is refused, naming the bounds, rather than stored and clamped:
the state is what clients show as the room's policy, so it must be the policy
that applies. Bounds can still change after a room chose (a new config): then
the stored value is clamped into the new bounds when it is read, so the
organisation's rule always wins. A room without the state gets the tenant's
default; with neither, messages are kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from revier.config import TenantPolicy
from revier.errors import BadJson, Forbidden

RETENTION = "m.room.retention"
DAY_MS = 86_400_000
# A lifetime above this (about 300 years) is "keep": it keeps timestamps in range.
_MAX_LIFETIME_MS = 10**13


@dataclass(frozen=True, slots=True)
class RetentionBounds:
    """The tenant's bounds and default, in milliseconds (None: none)."""

    min_ms: int | None = None
    max_ms: int | None = None
    default_ms: int | None = None

    @classmethod
    def of(cls, policy: TenantPolicy) -> RetentionBounds:
        def ms(days: int | None) -> int | None:
            return None if days is None else days * DAY_MS

        return cls(
            ms(policy.retention_min_days),
            ms(policy.retention_max_days),
            ms(policy.retention_default_days),
        )

    def describe(self) -> str:
        low = f"{self.min_ms // DAY_MS} days" if self.min_ms is not None else "no minimum"
        high = f"{self.max_ms // DAY_MS} days" if self.max_ms is not None else "no maximum"
        return f"between {low} and {high}" if self.max_ms is not None else f"at least {low}"


def _lifetime(content: Mapping[str, Any], key: str) -> int | None:
    value = content.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadJson(f"{RETENTION}: '{key}' must be a non-negative integer (milliseconds)")
    return value


def check_retention(content: Mapping[str, Any], bounds: RetentionBounds) -> None:
    """Refuse an ``m.room.retention`` a room's admin sends outside the tenant's bounds.

    No ``max_lifetime`` means "keep for ever", which a tenant with a maximum
    doesn't allow either.
    """
    max_lifetime = _lifetime(content, "max_lifetime")
    min_lifetime = _lifetime(content, "min_lifetime")
    if min_lifetime is not None and max_lifetime is not None and min_lifetime > max_lifetime:
        raise BadJson(f"{RETENTION}: 'min_lifetime' is above 'max_lifetime'")
    outside = (
        bounds.max_ms is not None and (max_lifetime is None or max_lifetime > bounds.max_ms)
    ) or (bounds.min_ms is not None and max_lifetime is not None and max_lifetime < bounds.min_ms)
    if outside:
        raise Forbidden(
            f"This organisation keeps messages {bounds.describe()}: "
            f"'max_lifetime' (milliseconds) must be {_bounds_ms(bounds)}"
        )


def _bounds_ms(bounds: RetentionBounds) -> str:
    if bounds.min_ms is not None and bounds.max_ms is not None:
        return f"between {bounds.min_ms} and {bounds.max_ms}"
    if bounds.max_ms is not None:
        return f"at most {bounds.max_ms}"
    return f"at least {bounds.min_ms}"


def effective_lifetime(content: Mapping[str, Any] | None, bounds: RetentionBounds) -> int | None:
    """How long a room's messages live (ms; None: for good): its state's
    ``max_lifetime`` clamped into the bounds, else the tenant's default."""
    lifetime: int | None
    if content is None:
        lifetime = bounds.default_ms
    else:
        try:
            lifetime = _lifetime(content, "max_lifetime")
        except BadJson:  # a malformed event stored before the check: the default
            lifetime = bounds.default_ms
    if bounds.max_ms is not None and (lifetime is None or lifetime > bounds.max_ms):
        lifetime = bounds.max_ms
    if bounds.min_ms is not None and lifetime is not None and lifetime < bounds.min_ms:
        lifetime = bounds.min_ms
    if lifetime is not None and lifetime >= _MAX_LIFETIME_MS:
        return None
    return lifetime


def cutoff(lifetime_ms: int | None, now_ms: int) -> int | None:
    """The oldest ``origin_server_ts`` still shown (None: everything is)."""
    return None if lifetime_ms is None else now_ms - lifetime_ms
