"""Starting and stopping server processes: shared by the benchmark and the test harness.

Standard library only, so that the tests can import it without the benchmark's own
dependencies; nothing here imports from ``tests``.
"""

from __future__ import annotations

import re
import select
import subprocess
import time
from typing import IO, Any, Protocol


class Process(Protocol):
    """What a started server is driven by: a ``subprocess.Popen``, or a stand-in
    for one (the test suite's forked servers)."""

    @property
    def stdout(self) -> IO[Any] | None: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...


READY = re.compile(r"revier ready on (http://\S+)")


def wait_ready(proc: Process, timeout: float) -> str | None:
    """The base URL that a starting ``revier serve`` prints on its standard output (a
    pipe, text or bytes) once it listens; None if it ends or ``timeout`` seconds pass first."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            line = proc.stdout.readline()
            if isinstance(line, bytes):
                line = line.decode()
            if match := READY.search(line):
                return match.group(1)
            if not line and proc.poll() is not None:
                break
    return None


def stop_process(proc: Process, *, kill: bool = False, timeout: float = 30) -> int:
    """End ``proc``: SIGTERM (SIGKILL at once with ``kill``), SIGKILL if it is still
    running after ``timeout`` seconds; then close its standard output pipe, if it has
    one. Returns its exit status."""
    if kill:
        proc.kill()
    else:
        proc.terminate()
    try:
        status = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        status = proc.wait()
    if proc.stdout:
        proc.stdout.close()
    return status
