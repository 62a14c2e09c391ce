"""Copies for backups: SQLite through its online backup API, files with checksums.

A SQLite database in WAL mode is not one file: a copy of ``revier.db`` taken
while the server writes misses what is still in the log, or catches a page
half-way. SQLite's backup API reads one consistent snapshot instead, in a
single read transaction, while the server goes on writing (WAL readers never
block the writer). It copies everything in one step: stepping page by page
would start over after every write of the running server.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Copied:
    size: int
    sha256: str


def snapshot_sqlite(source: Path, target: Path) -> tuple[str, ...]:
    """Write a consistent copy of the database ``source`` to ``target`` (a new file),
    check it, and return the schema revisions it is at."""
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        problems = dst.execute("PRAGMA quick_check").fetchall()
        if problems != [("ok",)]:
            raise RuntimeError(f"the copy of {source} fails SQLite's check: {problems[:3]}")
        return tuple(row[0] for row in dst.execute("SELECT version_num FROM alembic_version"))
    finally:
        dst.close()
        src.close()


def copy_file(source: Path, target: Path) -> Copied:
    """Copy one file (new, 0600 by the command's umask) and hash what was written."""
    digest = hashlib.sha256()
    size = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with source.open("rb") as src, target.open("xb") as dst:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            dst.write(chunk)
            size += len(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    return Copied(size, digest.hexdigest())


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def files_under(root: Path, *, skip: Callable[[Path], bool] = lambda _: False) -> Iterator[Path]:
    """Every regular file below ``root`` (relative paths), in a stable order."""
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath).relative_to(root)
        dirnames[:] = sorted(d for d in dirnames if not skip(here / d))
        for name in sorted(filenames):
            if not skip(here / name) and (Path(dirpath) / name).is_file():
                yield here / name


def is_empty(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


def remove_partial(path: Path) -> None:
    """Remove what an interrupted backup wrote, so that it is never mistaken for one."""
    shutil.rmtree(path, ignore_errors=True)
