"""The data directory: its owner's alone, and served by one revier at a time.

It holds the SQLite database, the tenants' signing keys, the key that hashes
access tokens and (by default) the media: everything in it is secret or
personal data, so it is created 0700 and its files 0600 (the command sets its
umask), and a directory found open to others is closed.

Two servers on one SQLite database would each believe they are its only writer
(group commit, stream positions cached in memory): a lock file in the
directory turns the second start into one clear line. PostgreSQL installations
run several workers on one shared data directory and take no lock.
"""

from __future__ import annotations

import fcntl
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import structlog

from revier.config import StartupRefused

LOCK_FILE = "revier.lock"
log = structlog.get_logger("revier")


def prepare_data_dir(path: Path) -> None:
    """Create the directory for revier's user alone; close one others can read."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        path.chmod(mode & 0o700)
        log.warning(
            "closed the data directory to other users", path=str(path), mode=f"{mode & 0o700:o}"
        )


@contextmanager
def holding_data_dir(path: Path) -> Iterator[None]:
    """While the block runs this process is the one revier on ``path``; another
    start on it raises ``StartupRefused`` naming this process."""
    prepare_data_dir(path)
    fd = _lock(path)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # releases the lock; the file stays (removing it would race a new start)


def ensure_not_served(path: Path) -> None:
    """Raise ``StartupRefused`` if a revier is running on ``path`` now."""
    if (path / LOCK_FILE).exists():
        os.close(_lock(path))


def _lock(path: Path) -> int:
    fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise StartupRefused(
            f"another revier (process {holder}) is running on the data directory "
            f"{path.resolve()}: stop it first, or give this one a data directory of its own "
            "(server.data_dir)"
        ) from None
    return fd
