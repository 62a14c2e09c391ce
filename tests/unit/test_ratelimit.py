"""The token bucket, on an injected clock (no sleeping)."""

from __future__ import annotations

import pytest
from tests.fake_clock import FakeClock

from revier.config import RateLimit
from revier.errors import LimitExceeded
from revier.services.core import RateLimiter


def test_burst_then_refill() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(per_second=0.5, burst=2), clock)
    limiter.check("k")
    limiter.check("k")
    with pytest.raises(LimitExceeded) as info:
        limiter.check("k")
    assert info.value.retry_after_ms == 2000
    clock.now += 2
    limiter.check("k")
    limiter.check("other")  # keys are independent


def test_peek_does_not_spend() -> None:
    limiter = RateLimiter(RateLimit(per_second=1, burst=1), FakeClock())
    for _ in range(5):
        limiter.peek("k")
    limiter.check("k")
    with pytest.raises(LimitExceeded):
        limiter.peek("k")


def test_disabled_never_limits() -> None:
    limiter = RateLimiter(RateLimit(per_second=0.001, burst=1), FakeClock(), enabled=False)
    for _ in range(10):
        limiter.check("k")
