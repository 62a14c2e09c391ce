"""The test-mode clock (``[testing] clock_file``) never takes a half-written file
for a reset: a test's ``write_text`` truncates before it writes, and both may carry
the same mtime, so a read caught between them must not be remembered."""

from __future__ import annotations

import os
import time
from pathlib import Path

from revier.services.core import AdjustableClock

HOUR_MS = 3_600_000


def _offset(clock: AdjustableClock) -> float:
    return clock.time_ms() - time.time() * 1000


def test_a_read_between_truncation_and_write_keeps_the_time(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    path.write_text(str(HOUR_MS))
    clock = AdjustableClock(path)
    jumps: list[None] = []
    clock.add_listener(lambda: jumps.append(None))
    assert abs(_offset(clock) - HOUR_MS) < 1000

    stamp = 1_000_000_000_000_000_000
    path.write_text("")  # truncated, not yet written
    os.utime(path, ns=(stamp, stamp))
    assert abs(_offset(clock) - HOUR_MS) < 1000  # not a jump back to the wall clock
    path.write_text(str(9 * HOUR_MS))  # the write lands within the same mtime
    os.utime(path, ns=(stamp, stamp))
    assert abs(_offset(clock) - 9 * HOUR_MS) < 1000
    assert len(jumps) == 2  # the first read, and the real move; none for the empty file
