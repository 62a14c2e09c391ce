"""A clock the test moves by hand (the services take any ``Clock``)."""

from __future__ import annotations


class FakeClock:
    def __init__(self, now_ms: int = 0) -> None:
        self.now_ms = now_ms

    @property
    def now(self) -> float:
        """Seconds, for tests that think in seconds."""
        return self.now_ms / 1000

    @now.setter
    def now(self, seconds: float) -> None:
        self.now_ms = round(seconds * 1000)

    def time_ms(self) -> int:
        return self.now_ms

    def monotonic(self) -> float:
        return self.now_ms / 1000
