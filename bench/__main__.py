"""``python -m bench run`` (the suite) and ``python -m bench soak`` (many idle connections).

Run from the repository root with revier's virtual environment:
``.venv/bin/python -m bench run``. See ``--help`` of each command.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench import report, scenarios, sliding
from bench.client import Matrix, collector_paused, connector
from bench.idle import raise_fd_limit
from bench.infra import InfraUnavailable
from bench.org import OrgSizes, run_org
from bench.profile import profile_revier
from bench.reference import Synapse
from bench.servers import Ceiling, Revier, Server
from bench.soak import soak
from bench.synapse_env import SYNAPSE_VERSION, ReferenceUnavailable, ensure_synapse

RESULTS = Path(__file__).resolve().parent / "results"
# idle first: its memory baseline is each server's first, before other scenarios'
# caches and freed-but-kept memory would hide what the waiting requests hold.
ALL = [
    "idle",
    "send",
    "fanout",
    "fanout_wide",
    "initial_sync",
    "messages",
    "big_room",
    "keys",
    "ss_initial",
    "ss_incremental",
    "ss_fanout",
    "push",
    "ceiling",
]
# Scenarios the reference is not run on (push: it would need its own gateway set-up).
REVIER_ONLY = {"push"}
_t0 = time.monotonic()
SIZE_HELP = {
    "runs": "runs of each scenario; the median is reported",
    "senders": "send: concurrent senders",
    "messages": "send: messages per sender",
    "receivers": "fan-out: receivers long-polling /sync",
    "wide_receivers": "fanout_wide: receivers long-polling /sync (same messages as fan-out)",
    "fanout_messages": "fan-out: messages sent",
    "fanout_interval": "fan-out: seconds between messages",
    "idle_users": "idle: users holding a /sync long-poll",
    "init_rooms": "initial sync: rooms of the user",
    "init_messages": "initial sync: messages per room",
    "history_messages": "messages: the room scrolled back through (/messages, 50 a page)",
    "big_room": "big room: members joining",
    "key_devices": "keys: devices uploading keys",
    "key_claimers": "keys: clients claiming and querying",
    "ss_rooms": "sliding sync (ss_initial, ss_incremental): rooms of the user's room list",
    "ss_messages": "sliding sync: messages per room of that user",
    "ss_updates": "ss_incremental: messages sent, each to a waiting long-poll",
    "ss_devices": "ss_fanout: devices each holding a waiting room-list connection",
    "push_members": "push: members of the room, each with a pusher",
    "push_messages": "push: messages sent with pushers off, then on",
}


def log(msg: str) -> None:
    print(f"[{time.monotonic() - _t0:7.1f}s] {msg}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="the suite: revier and the reference side by side")
    defaults = scenarios.Sizes()
    for name, value in vars(defaults).items():
        run.add_argument(
            f"--{name.replace('_', '-')}",
            type=type(value),
            default=value,
            help=f"{SIZE_HELP[name]} (default {value})",
        )
    run.add_argument("--only", help=f"comma-separated scenarios out of {','.join(ALL)}")
    run.add_argument("--no-reference", action="store_true", help="revier alone (no Synapse)")
    run.add_argument(
        "--profile",
        action="store_true",
        help="afterwards, run the scenarios --only names (send and fan-out by default) "
        "once more on revier under py-spy",
    )
    run.add_argument("--json", type=Path, help="where the results go (default bench/results/)")
    run.add_argument(
        "--retention-days",
        type=int,
        help="revier: give every room this retention (retention_default_days), so the "
        "read paths apply a cutoff (default: none)",
    )
    soaking = sub.add_parser("soak", help="idle with very many connections, revier alone")
    soaking.add_argument(
        "--users", type=int, default=25_000, help="idle /sync long-polls to hold (default 25000)"
    )
    soaking.add_argument("--json", type=Path, help="where the results go (default bench/results/)")
    for command in (run, soaking):
        command.add_argument(
            "--shape",
            choices=["single", "workers"],
            default="single",
            help="single: one process on SQLite (the default); workers: the multi-process "
            "production shape, N processes on PostgreSQL with Redis (docs/benchmarks.md)",
        )
    run.add_argument(
        "--workers",
        default="2",
        help="with --shape workers: worker processes, or a comma-separated list of counts "
        "run one after the other and compared (e.g. 1,2; 'single' in the list adds the "
        "single-process SQLite shape: single,1,2; default 2)",
    )
    soaking.add_argument(
        "--workers", type=int, default=2, help="with --shape workers: processes (default 2)"
    )
    org = sub.add_parser(
        "org", help="the organisation from LDAP (issue #20): sync times, /sync under re-sync"
    )
    for name, value in vars(OrgSizes()).items():
        org.add_argument(
            f"--{name.replace('_', '-')}", type=int, default=value, help=f"(default {value})"
        )
    org.add_argument("--json", type=Path, help="where the results go (default bench/results/)")
    args = parser.parse_args(argv)
    if args.command == "soak":
        return asyncio.run(soak(args, log))
    if args.command == "org":
        return asyncio.run(_org(args))
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    sizes = scenarios.Sizes(**{k: getattr(args, k) for k in vars(scenarios.Sizes())})
    asked = args.only.split(",") if args.only else ALL
    if unknown := [w for w in asked if w not in ALL]:
        print(f"unknown scenario(s) {','.join(unknown)}; out of {','.join(ALL)}", file=sys.stderr)
        return 2
    # In the suite's order whatever the order asked in: idle's baseline must come first.
    wanted = [w for w in ALL if w in asked]
    counts = [0]  # one process on SQLite
    if args.shape == "workers":
        try:
            counts = [0 if n == "single" else int(n) for n in args.workers.split(",")]
        except ValueError:
            counts = [-1]
        if any(n < 0 for n in counts) or counts.count(0) > 1:
            print("--workers: counts of 1 or more, and 'single' at most once", file=sys.stderr)
            return 2
    out = args.json or RESULTS / time.strftime("bench-%Y%m%d-%H%M%S.json")
    by_count: dict[int, dict[str, Any]] = {}
    for n in counts:
        if n:
            log(f"=== shape: {n} worker(s) on PostgreSQL with Redis ===")
        data = await _suite(args, sizes, wanted, n)
        by_count[n] = data
        print(data.pop("text"))
        label = f"w{n}" if n else "single"
        path = out if len(counts) == 1 else out.with_name(f"{out.stem}-{label}{out.suffix}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=1, default=str))
        print(f"\nresults: {path}  ({time.monotonic() - _t0:.0f} s)")
    if len(counts) > 1:
        text, rows = report.workers_table(
            {n: d["medians"] for n, d in by_count.items()}, by_count[counts[0]]["versions"]
        )
        print(f"\n{text}")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"workers": counts, "table": rows}, indent=1, default=str))
        print(f"\ncomparison: {out}")
    return 0


async def _suite(
    args: argparse.Namespace, sizes: scenarios.Sizes, wanted: list[str], workers: int
) -> dict[str, Any]:
    """Every wanted scenario on both servers in one shape (``workers``: 0 = one process
    on SQLite); the results, the table's text under ``text``."""
    hard = raise_fd_limit()
    work = Path(tempfile.mkdtemp(prefix="revier-bench-"))
    common: dict[str, Any] = {"workers": workers, "progress": log}
    servers: dict[str, Server] = {
        "revier": Revier("revier", work / "revier", retention_days=args.retention_days, **common)
    }
    notes: dict[str, str] = {}
    ref_name = f"synapse {SYNAPSE_VERSION}"
    if not args.no_reference:
        try:
            ensure_synapse(log)
            servers["reference"] = Synapse("reference", work / "synapse", **common)
        except ReferenceUnavailable as e:
            log(f"REFERENCE UNAVAILABLE: {e}")
            ref_name = "reference (unavailable)"
    if "reference" not in servers:
        ref_name = "reference (not run)" if args.no_reference else ref_name
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    ceiling: Ceiling | None = None
    try:
        for name, server in servers.items():
            server.workdir.mkdir(parents=True)
            log(f"starting {name}: {server.shape}")
            try:
                server.start()  # type: ignore[attr-defined]
            except InfraUnavailable as e:
                raise SystemExit(f"the workers shape needs PostgreSQL and Redis: {e}") from None
            names = sizes.localparts()
            log(f"{name}: creating and logging in {len(names)} users")
            await server.create_users(names)
        async with aiohttp.ClientSession(connector=connector()) as http:
            rv = servers["revier"].matrix(http)
            if "keys" in wanted and not await scenarios.keys_supported(
                rv, servers["revier"].sessions["s0"]
            ):
                notes["keys"] = "n/a: revier answers 404 on /keys/upload"
                wanted = [w for w in wanted if w != "keys"]
            for scenario in wanted:
                if scenario == "ceiling":
                    ceiling = Ceiling("ceiling", work)
                    ceiling.start()
                    for run in range(sizes.runs):
                        log(f"ceiling run {run + 1}/{sizes.runs}")
                        with collector_paused():
                            got = await scenarios.ceiling_send(ceiling.url, sizes)
                            if sizes.idle_users:
                                got |= await scenarios.ceiling_idle(ceiling, sizes, run, log)
                        log(f"  {got}")
                        results.setdefault("ceiling", {}).setdefault("ceiling", []).append(got)
                    continue
                fn = getattr(sliding if scenario.startswith("ss_") else scenarios, scenario)
                for run in range(sizes.runs):
                    order = list(servers) if run % 2 == 0 else list(reversed(servers))
                    if scenario in REVIER_ONLY:
                        order = ["revier"]
                    for name in order:  # the servers alternate
                        log(f"{scenario} run {run + 1}/{sizes.runs} on {name}")
                        m = servers[name].matrix(http)
                        kwargs = {"log": log} if scenario == "idle" else {}
                        metrics = await _attempt(fn, m, servers[name], sizes, run, kwargs)
                        log(f"  {metrics}")
                        results.setdefault(scenario, {}).setdefault(name, []).append(metrics)
        profile = None
        if args.profile:
            profile = await profile_revier(servers["revier"], sizes, log, wanted)
    finally:
        for server in [*servers.values(), *([ceiling] if ceiling else [])]:
            server.stop()
    medians = {
        scenario: {
            name: scenarios.median_metrics(ok)
            for name, runs in per.items()
            if (ok := [r for r in runs if "error" not in r])
        }
        for scenario, per in results.items()
    }
    # A scenario whose every run failed on a server says so in the table.
    failed = {
        scenario: [name for name, runs in per.items() if all("error" in r for r in runs)]
        for scenario, per in results.items()
    }
    text, rows = report.table(medians, notes, ref_name, failed)
    return {
        "text": text,
        "machine": report.machine(),
        "shape": servers["revier"].shape,
        "workers": workers,
        "routing": {name: s.router.spread() for name, s in servers.items() if s.router},
        "versions": {
            "revier": servers["revier"].version,
            "reference": servers["reference"].version if "reference" in servers else None,
            "reference_name": ref_name,
        },
        "sizes": vars(sizes),
        "fd_hard_limit": hard,
        "notes": notes,
        "runs": results,
        "medians": medians,
        "table": rows,
        "profile": profile,
        "seconds": time.monotonic() - _t0,
    }


async def _org(args: argparse.Namespace) -> int:
    sizes = OrgSizes(**{k: getattr(args, k) for k in vars(OrgSizes())})
    result = await run_org(sizes, log)
    result["machine"] = report.machine()
    print(json.dumps(result, indent=1))
    out = args.json or RESULTS / time.strftime("bench-org-%Y%m%d-%H%M%S.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=str))
    return 0


async def _attempt(
    fn: Any, m: Matrix, server: Server, sizes: scenarios.Sizes, run: int, kwargs: dict[str, Any]
) -> dict[str, Any]:
    """One scenario run, the harness's collector held (``collector_paused``); a
    failure is logged and the run tried once more (a busy CI machine can time a
    request out), then recorded as an error. One failed scenario must not end
    the suite."""
    errors: list[str] = []
    for attempt in (1, 2):
        try:
            with collector_paused():
                metrics: dict[str, Any] = await fn(m, server, sizes, run, **kwargs)
        except Exception as e:
            log(f"  {fn.__name__} on {server.name} FAILED (attempt {attempt}/2): {e!r}")
            errors.append(repr(e))
            continue
        # A retried run stays visible in the JSON, not only in the log.
        return {**metrics, "retried_after": errors[0]} if errors else metrics
    return {"error": errors[-1]}


if __name__ == "__main__":
    sys.exit(main())
