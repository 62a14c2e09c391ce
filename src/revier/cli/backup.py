"""``revier admin backup DIR`` and ``revier admin restore DIR``.

A backup is a directory: ``manifest.json`` (version, schema, tenants, every
file with its size and SHA-256), the SQLite database as one consistent
snapshot taken while the server runs (``storage.backup``), the keys, the
media of the file backend and the configuration file. PostgreSQL and S3 keep
their data elsewhere: the backup says so in its ``README.txt`` and saves the
rest; ``docs/operations.md`` has the ``pg_dump`` commands.

Restore puts it back into a data directory that holds no installation, with
every file checked against the manifest; the next ``revier serve`` starts on it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from revier import __version__
from revier.cli.common import Subcommands
from revier.config import Settings, StartupRefused
from revier.config_file import config_path
from revier.storage.backup import (
    copy_file,
    files_under,
    is_empty,
    remove_partial,
    sha256_of,
    snapshot_sqlite,
)
from revier.storage.datadir import ensure_not_served, prepare_data_dir
from revier.storage.engine import sqlite_file

FORMAT = 1
DATABASE = "revier.db"
PROGRESS_SECONDS = 2.0


def add_backup_commands(admin_sub: Subcommands, common: argparse.ArgumentParser) -> None:
    backup = admin_sub.add_parser(
        "backup",
        parents=[common],
        help="back up the installation into a new directory, while the server runs",
        description="Write a consistent backup of the database (SQLite), the keys, the "
        "media (file backend) and the configuration into DIR, which must be new or empty. "
        "It can be taken while the server runs and serves.",
    )
    backup.add_argument("dir", type=Path, metavar="DIR", help="where to write the backup")
    backup.set_defaults(handler=_backup)
    restore = admin_sub.add_parser(
        "restore",
        parents=[common],
        help="restore a backup into a data directory that holds no installation",
        description="Copy a backup made by `revier admin backup` into the data directory "
        "of the configuration (--config), checking every file. The server must be stopped "
        "and the data directory must hold no database, keys or media.",
    )
    restore.add_argument("dir", type=Path, metavar="DIR", help="the backup to restore")
    restore.set_defaults(handler=_restore, needs_database=False)


async def _backup(args: argparse.Namespace, settings: Settings) -> int:
    target: Path = args.dir
    if not is_empty(target):
        raise StartupRefused(f"{target} is not empty: give a new directory for the backup")
    config = config_path(args.config)
    try:
        await asyncio.to_thread(_write_backup, settings, config, target)
    except BaseException:
        remove_partial(target)
        raise
    return 0


def _write_backup(settings: Settings, config: Path | None, target: Path) -> None:
    prepare_data_dir(target)
    files: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    database = sqlite_file(settings.database_url)
    schema: tuple[str, ...] = ()
    if database is not None:
        print(f"database: copying {_mib(database.stat().st_size)} (one consistent snapshot)")
        started = time.monotonic()
        schema = snapshot_sqlite(database, target / DATABASE)
        files[DATABASE] = _entry(target / DATABASE)
        print(f"database: done in {time.monotonic() - started:.1f} s (schema {', '.join(schema)})")
    else:
        notes.append(
            "The database is PostgreSQL and is NOT in this backup: save it with pg_dump "
            "at the same time (docs/operations.md, 'Backup and restore')."
        )
    _copy_tree("keys", settings.server.data_dir / "keys", target / "keys", files)
    for tenant in settings.tenants:
        if tenant.signing_key_path is not None:  # kept outside the data directory
            name = f"signing-keys/{tenant.server_name}.signing.key"
            files[name] = _copy(tenant.signing_key_path, target / name)
    if settings.media.backend == "file":
        media = settings.media.path or settings.server.data_dir / "media"
        _copy_tree("media", media, target / "media", files, skip={".uploads"})
    else:
        notes.append(
            f"Media are in the S3 bucket {settings.media.s3_bucket!r} at "
            f"{settings.media.s3_endpoint_url or 'the default endpoint'} and NOT in this "
            "backup: keep them with the store's own versioning or replication."
        )
    if config is not None:
        files[f"config/{config.name}"] = _copy(config, target / "config" / config.name)
    manifest = {
        "format": FORMAT,
        "revier": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": "sqlite" if database is not None else "postgresql",
        "schema": list(schema),
        "tenants": [t.server_name for t in settings.tenants],
        "media": settings.media.backend,
        "files": files,
        "notes": notes,
    }
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    if notes:
        (target / "README.txt").write_text("\n\n".join(notes) + "\n")
        for note in notes:
            print(f"note: {note}")
    print(f"backup complete: {target.resolve()}")


async def _restore(args: argparse.Namespace, settings: Settings) -> int:
    source: Path = args.dir
    manifest = _read_manifest(source)
    data_dir = settings.server.data_dir
    ensure_not_served(data_dir)
    database = sqlite_file(settings.database_url)
    if manifest["database"] == "sqlite" and database is None:
        raise StartupRefused(
            "the backup holds a SQLite database, but the configuration uses PostgreSQL: "
            "restore with the configuration saved in the backup (config/)"
        )
    media = settings.media.path or data_dir / "media"
    occupied = [
        str(p)
        for p in (database, data_dir / "keys", media if settings.media.backend == "file" else None)
        if p is not None and not is_empty(p)
    ]
    if occupied:
        raise StartupRefused(
            f"the data directory already holds an installation ({', '.join(occupied)}): "
            "restore into a new data directory, or move these away first"
        )
    await asyncio.to_thread(_write_restore, settings, manifest, source, database, media)
    return 0


def _write_restore(
    settings: Settings,
    manifest: dict[str, Any],
    source: Path,
    database: Path | None,
    media: Path,
) -> None:
    prepare_data_dir(settings.server.data_dir)
    key_paths = {
        f"signing-keys/{t.server_name}.signing.key": t.signing_key_path
        for t in settings.tenants
        if t.signing_key_path is not None
    }
    places = {
        "keys": settings.server.data_dir / "keys",
        "media": media,
    }
    progress = _Progress("restore", len(manifest["files"]))
    for name, entry in manifest["files"].items():
        top, _, rest = name.partition("/")
        if name == DATABASE:
            assert database is not None  # checked before
            target = database
        elif top in places:
            target = places[top] / rest
        elif name in key_paths:
            target = key_paths[name]
        else:
            continue  # the saved configuration stays in the backup, for comparing
        if _copy(source / name, target) != entry:
            target.unlink()
            raise StartupRefused(f"{source / name} differs from the backup's manifest: damaged?")
        progress.step(entry["size"])
    progress.done()
    for note in manifest["notes"]:
        print(f"note: {note}")
    print(
        f"restored the backup of {manifest['created']} (revier {manifest['revier']}) into "
        f"{settings.server.data_dir.resolve()}; start the server: migrations bring the "
        "schema up to date by themselves"
    )


def _read_manifest(source: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((source / "manifest.json").read_text())
    except FileNotFoundError:
        raise StartupRefused(
            f"{source} is not a revier backup (no manifest.json): give the directory "
            "that `revier admin backup` wrote"
        ) from None
    if manifest.get("format") != FORMAT:
        raise StartupRefused(
            f"{source} is a backup of format {manifest.get('format')!r}; revier "
            f"{__version__} restores format {FORMAT}: use the release that made it"
        )
    return manifest


def _copy_tree(
    label: str,
    root: Path,
    target: Path,
    files: dict[str, dict[str, Any]],
    skip: frozenset[str] | set[str] = frozenset(),
) -> None:
    names = list(files_under(root, skip=lambda p: p.parts[0] in skip))
    progress = _Progress(label, len(names))
    for relative in names:
        entry = _copy(root / relative, target / relative)
        files[f"{label}/{relative.as_posix()}"] = entry
        progress.step(entry["size"])
    progress.done()


def _copy(source: Path, target: Path) -> dict[str, Any]:
    copied = copy_file(source, target)
    return {"size": copied.size, "sha256": copied.sha256}


def _entry(path: Path) -> dict[str, Any]:
    return {"size": path.stat().st_size, "sha256": sha256_of(path)}


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


class _Progress:
    """A line every few seconds on a long copy, and one at the end."""

    def __init__(self, label: str, total: int) -> None:
        self._label, self._total = label, total
        self._count = self._bytes = 0
        self._next = time.monotonic() + PROGRESS_SECONDS

    def step(self, size: int) -> None:
        self._count += 1
        self._bytes += size
        if time.monotonic() >= self._next:
            self._next += PROGRESS_SECONDS
            print(f"{self._label}: {self._count}/{self._total} files, {_mib(self._bytes)}")
            sys.stdout.flush()

    def done(self) -> None:
        print(f"{self._label}: {self._count} files, {_mib(self._bytes)}")
