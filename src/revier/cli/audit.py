"""``revier admin audit …``: read, export and pseudonymise the audit log."""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

import orjson

from revier.cli.common import (
    TENANT_HELP,
    Subcommands,
    cli_actor,
    command_group,
    pick_tenant,
    with_services,
)
from revier.config import Settings

if TYPE_CHECKING:
    from revier.services.container import Services
    from revier.services.core import AuditEntry, AuditQuery

_PAGE = 500
# An export says how far it got every this many entries (on stderr, so that
# stdout stays a clean file).
_PROGRESS_EVERY = 10_000
_DETAILS_WIDTH = 60


def add_audit_commands(admin_sub: Subcommands, common: argparse.ArgumentParser) -> None:
    audit = admin_sub.add_parser(
        "audit",
        help="the audit log: who did what, when, from where (never message content)",
        description="Read and export the audit log, and pseudonymise old source addresses.",
    )
    add = command_group(audit, common)

    async def list_entries(args: argparse.Namespace, settings: Settings) -> int:
        async def work(svc: Services) -> int:
            tenant = pick_tenant(svc, args.tenant)
            query = _query(args)
            entries: list[AuditEntry] = []
            # One more than asked for tells whether there are more.
            while len(entries) <= args.limit:
                want = min(_PAGE, args.limit + 1 - len(entries))
                after = entries[-1].id if entries else 0
                page = await svc.audit.page(tenant, query, after_id=after, limit=want)
                entries.extend(page)
                if len(page) < want:
                    break
            if len(entries) > args.limit:
                entries = entries[: args.limit]
                print(
                    f"(the first {args.limit} only: narrow the filters or raise --limit)",
                    file=sys.stderr,
                )
            _print_entries(entries, as_json=args.json)
            return 0

        return await with_services(settings, work)

    async def export(args: argparse.Namespace, settings: Settings) -> int:
        async def work(svc: Services) -> int:
            tenant = pick_tenant(svc, args.tenant)
            lines = await svc.audit.export(tenant, _query(args), cli_actor())
            if args.output is None:
                count = await _write_export(lines, sys.stdout.buffer)
            else:
                with args.output.open("wb") as out:
                    count = await _write_export(lines, out)
                print(f"exported {count} entries to {args.output}", file=sys.stderr)
            return 0

        return await with_services(settings, work)

    async def pseudonymise(args: argparse.Namespace, settings: Settings) -> int:
        async def work(svc: Services) -> int:
            count = await svc.audit.pseudonymise_due()
            print(f"pseudonymised the source address of {count} entries")
            return 0

        return await with_services(settings, work)

    lst = add("list", list_entries, "list entries, oldest first, as a table (or --json)")
    _filter_options(lst)
    lst.add_argument("--limit", type=_positive, default=100, help="at most this many (100)")
    lst.add_argument("--json", action="store_true", help="one JSON object per line")
    exp = add("export", export, "write every matching entry as JSON lines (the export is audited)")
    _filter_options(exp)
    exp.add_argument("--output", "-o", type=Path, help="file to write (default: standard output)")
    add(
        "pseudonymise",
        pseudonymise,
        "replace the source address of entries older than their tenant's "
        "audit_pseudonymise_after_days by a pseudonym now (the server does it hourly)",
    )


def _filter_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tenant", help=TENANT_HELP)
    p.add_argument("--actor", help="only entries by this user ID (or cli:<os user>)")
    p.add_argument("--target", help="only entries about this user, device (user/device) or room")
    p.add_argument("--action", help="an action (device.wiped) or a family ending in '.' (device.)")
    p.add_argument(
        "--since", type=_iso_time, help="entries at or after this ISO date or time (UTC default)"
    )
    p.add_argument(
        "--until", type=_iso_time, help="entries before this ISO date or time (UTC default)"
    )


def _query(args: argparse.Namespace) -> AuditQuery:
    from revier.services.core import AuditQuery

    return AuditQuery(
        actor=args.actor,
        target=args.target,
        action=args.action,
        since_ts=args.since,
        until_ts=args.until,
    )


async def _write_export(lines: AsyncIterator[bytes], out: IO[bytes]) -> int:
    count = 0
    reported = 0
    async for chunk in lines:
        out.write(chunk)
        count += chunk.count(b"\n")
        if count - reported >= _PROGRESS_EVERY:
            reported = count
            print(f"… {count} entries", file=sys.stderr, flush=True)
    out.flush()
    return count


def _print_entries(entries: list[AuditEntry], *, as_json: bool) -> None:
    if as_json:
        for entry in entries:
            sys.stdout.write(orjson.dumps(entry.to_json()).decode() + "\n")
        return
    rows = [
        (
            _format_ts(e.ts),
            e.action,
            e.actor or "(server)",
            e.target or "-",
            e.source or "-",
            _short(orjson.dumps(e.details).decode() if e.details else ""),
        )
        for e in entries
    ]
    header = ("time (UTC)", "action", "actor", "target", "source", "details")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())
    print(f"{len(entries)} entries")


def _short(text: str) -> str:
    return text if len(text) <= _DETAILS_WIDTH else text[: _DETAILS_WIDTH - 1] + "…"


def _format_ts(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def _iso_time(value: str) -> int:
    """An ISO 8601 date or time (UTC when it has no zone) → ms since the epoch."""
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO date or time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive number")
    return int(value)
