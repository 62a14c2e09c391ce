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
from bench.client import Matrix, connector
from bench.idle import raise_fd_limit
from bench.org import OrgSizes, run_org
from bench.profile import profile_revier
from bench.servers import Ceiling, Revier, Server, Synapse
from bench.synapse_env import SYNAPSE_VERSION, ReferenceUnavailable, ensure_synapse

RESULTS = Path(__file__).resolve().parent / "results"
ALL = [
    "send",
    "fanout",
    "fanout_wide",
    "idle",
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
    soak = sub.add_parser("soak", help="idle with very many connections, revier alone")
    soak.add_argument(
        "--users", type=int, default=25_000, help="idle /sync long-polls to hold (default 25000)"
    )
    soak.add_argument("--json", type=Path, help="where the results go (default bench/results/)")
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
        return asyncio.run(_soak(args))
    if args.command == "org":
        return asyncio.run(_org(args))
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    sizes = scenarios.Sizes(**{k: getattr(args, k) for k in vars(scenarios.Sizes())})
    wanted = args.only.split(",") if args.only else ALL
    if unknown := [w for w in wanted if w not in ALL]:
        print(f"unknown scenario(s) {','.join(unknown)}; out of {','.join(ALL)}", file=sys.stderr)
        return 2
    hard = raise_fd_limit()
    work = Path(tempfile.mkdtemp(prefix="revier-bench-"))
    servers: dict[str, Server] = {
        "revier": Revier("revier", work / "revier", retention_days=args.retention_days)
    }
    notes: dict[str, str] = {}
    ref_name = f"synapse {SYNAPSE_VERSION}"
    if not args.no_reference:
        try:
            ensure_synapse(log)
            servers["reference"] = Synapse("reference", work / "synapse")
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
            log(f"starting {name}")
            server.start()  # type: ignore[attr-defined]
            names = sizes.localparts()
            log(f"{name}: creating and logging in {len(names)} users")
            await server.create_users(names)
        async with aiohttp.ClientSession(connector=connector()) as http:
            rv = Matrix(servers["revier"].url, http)
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
                        m = await scenarios.ceiling_send(ceiling.url, sizes)
                        results.setdefault("ceiling", {}).setdefault("ceiling", []).append(m)
                    continue
                fn = getattr(sliding if scenario.startswith("ss_") else scenarios, scenario)
                for run in range(sizes.runs):
                    order = list(servers) if run % 2 == 0 else list(reversed(servers))
                    if scenario in REVIER_ONLY:
                        order = ["revier"]
                    for name in order:  # the servers alternate
                        log(f"{scenario} run {run + 1}/{sizes.runs} on {name}")
                        m = Matrix(servers[name].url, http)
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
    print(text)
    out = args.json or RESULTS / time.strftime("bench-%Y%m%d-%H%M%S.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "machine": report.machine(),
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
            },
            indent=1,
            default=str,
        )
    )
    print(f"\nresults: {out}  ({time.monotonic() - _t0:.0f} s)")
    return 0


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
    """One scenario run; a failure is logged and the run tried once more (a busy CI
    machine can time a request out), then recorded as an error. One failed
    scenario must not end the suite."""
    errors: list[str] = []
    for attempt in (1, 2):
        try:
            metrics: dict[str, Any] = await fn(m, server, sizes, run, **kwargs)
        except Exception as e:
            log(f"  {fn.__name__} on {server.name} FAILED (attempt {attempt}/2): {e!r}")
            errors.append(repr(e))
            continue
        # A retried run stays visible in the JSON, not only in the log.
        return {**metrics, "retried_after": errors[0]} if errors else metrics
    return {"error": errors[-1]}


async def _soak(args: argparse.Namespace) -> int:
    hard = raise_fd_limit()
    # The server holds one socket per connection (plus its database and a margin).
    users = min(args.users, hard - 1000)
    if users < args.users:
        log(
            f"fd hard limit is {hard} and cannot be raised without privileges: "
            f"soaking with {users} connections instead of {args.users}"
        )
    sizes = scenarios.Sizes(
        runs=1,
        senders=1,
        receivers=0,
        idle_users=users,
        big_room=0,
        key_devices=0,
        key_claimers=0,
        ss_devices=0,
    )
    work = Path(tempfile.mkdtemp(prefix="revier-soak-"))
    server = Revier("revier", work / "revier")
    server.workdir.mkdir(parents=True)
    server.start()
    try:
        log(f"creating and logging in {users} users")
        await server.create_users(sizes.localparts())
        async with aiohttp.ClientSession(connector=connector()) as http:
            log("joining rooms of 100")
            metrics = await scenarios.idle(Matrix(server.url, http), server, sizes, 0, log=log)
    finally:
        server.stop()
    print(json.dumps(metrics, indent=1))
    out = args.json or RESULTS / time.strftime("soak-%Y%m%d-%H%M%S.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "machine": report.machine(),
                "requested": args.users,
                "fd_hard_limit": hard,
                "revier": server.version,
                "idle": metrics,
            },
            indent=1,
        )
    )
    print(f"results: {out}")
    return 0 if metrics["all_woken"] else 1


if __name__ == "__main__":
    sys.exit(main())
