"""Token-bucket rate limits, kept in the process.

With several workers each keeps its own buckets, so the effective limit is
at most workers times the configured one; that is still a hard cap for brute
force, and needs no shared state on the login path.
"""

from __future__ import annotations

from dataclasses import dataclass

from revier.config import RateLimit
from revier.errors import LimitExceeded
from revier.services.core.clock import Clock

_MAX_KEYS = 100_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, limit: RateLimit, clock: Clock, *, enabled: bool = True) -> None:
        self._limit = limit
        self._clock = clock
        self._enabled = enabled
        self._buckets: dict[str, _Bucket] = {}

    def check(self, key: str, *, cost: float = 1.0) -> None:
        """Take ``cost`` from ``key``'s bucket, or raise M_LIMIT_EXCEEDED."""
        if not self._enabled:
            return
        bucket = self._refill(key)
        if bucket.tokens < cost:
            wait_s = (cost - bucket.tokens) / self._limit.per_second
            raise LimitExceeded(
                "Too many attempts; wait before trying again",
                retry_after_ms=max(1, int(wait_s * 1000)),
            )
        bucket.tokens -= cost

    def peek(self, key: str) -> None:
        """Raise M_LIMIT_EXCEEDED if ``key`` has nothing left, without spending."""
        if not self._enabled:  # check() made no bucket to give back to
            return
        self.check(key, cost=0.999)
        self._buckets[key].tokens += 0.999

    def _refill(self, key: str) -> _Bucket:
        now = self._clock.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _MAX_KEYS:
                self._forget_full()
            bucket = self._buckets[key] = _Bucket(float(self._limit.burst), now)
        else:
            gained = (now - bucket.updated) * self._limit.per_second
            bucket.tokens = min(float(self._limit.burst), bucket.tokens + gained)
            bucket.updated = now
        return bucket

    def _forget_full(self) -> None:
        # Full buckets carry no information; dropping them bounds memory under
        # a flood of distinct keys (addresses, user names).
        now = self._clock.monotonic()
        burst = float(self._limit.burst)
        for key in [
            k
            for k, b in self._buckets.items()
            if b.tokens + (now - b.updated) * self._limit.per_second >= burst
        ]:
            del self._buckets[key]
