"""The table and the JSON file: what was measured, on what machine, with which versions."""

from __future__ import annotations

import math
import os
import platform
import sys
from collections.abc import Callable
from typing import Any

import psutil

# (scenario, metric key, label, better, target factor or None)
ROWS: list[tuple[str, str, str, str, float | None]] = [
    ("send", "msgs_per_s", "send msgs/s", "higher", 8),
    ("send", "p50_ms", "send latency p50 ms", "lower", None),
    ("send", "p95_ms", "send latency p95 ms", "lower", None),
    ("send", "p99_ms", "send latency p99 ms", "lower", None),
    ("send", "cpu_ms_per_msg", "send server CPU ms per msg", "lower", 8),
    ("send", "infra_cpu_ms_per_msg", "send PostgreSQL+Redis CPU ms per msg", "lower", None),
    ("fanout", "p50_ms", "fan-out delivery p50 ms", "lower", None),
    ("fanout", "p99_ms", "fan-out delivery p99 ms", "lower", 5),
    ("fanout", "max_ms", "fan-out delivery max ms", "lower", 5),
    ("fanout", "cpu_ms_per_delivery", "fan-out server CPU ms per delivery", "lower", None),
    (
        "fanout",
        "infra_cpu_ms_per_delivery",
        "fan-out PostgreSQL+Redis CPU ms/delivery",
        "lower",
        None,
    ),
    ("fanout", "answers_per_delivery", "fan-out /sync answers per delivery", "lower", None),
    ("fanout", "client_cpu_share", "fan-out client process CPU share (1 = a core)", "", None),
    ("fanout", "delivered", "fan-out delivered (all?)", "", None),
    ("fanout_wide", "p50_ms", "wide fan-out delivery p50 ms", "lower", None),
    ("fanout_wide", "p99_ms", "wide fan-out delivery p99 ms", "lower", 5),
    ("fanout_wide", "max_ms", "wide fan-out delivery max ms", "lower", 5),
    ("fanout_wide", "cpu_ms_per_delivery", "wide fan-out CPU ms per delivery", "lower", None),
    ("fanout_wide", "answers_per_delivery", "wide fan-out answers per delivery", "lower", None),
    ("fanout_wide", "client_cpu_share", "wide fan-out client CPU share (1 = a core)", "", None),
    ("fanout_wide", "delivered", "wide fan-out delivered (all?)", "", None),
    ("idle", "rss_mb", "idle RSS MiB (all users waiting)", "lower", None),
    ("idle", "kib_per_user", "idle KiB per connected user", "lower", 2),
    ("idle", "infra_kib_per_user", "idle PostgreSQL+Redis KiB per user (PSS)", "lower", None),
    ("idle", "woken", "idle woken by a message", "", None),
    ("initial_sync", "ms", "initial sync ms", "lower", 5),
    ("messages", "page_p50_ms", "/messages page (50) p50 ms", "lower", None),
    ("messages", "whole_ms", "/messages whole history ms", "lower", None),
    ("big_room", "joins_per_s", "big room joins/s", "higher", 8),
    ("big_room", "newcomer_join_ms", "big room newcomer join ms", "lower", None),
    ("big_room", "newcomer_sync_ms", "big room newcomer 1st sync ms", "lower", None),
    ("keys", "requests_per_s", "keys requests/s", "higher", None),
    ("ss_initial", "first_ms", "ss room list: first window ms", "lower", 5),
    ("ss_initial", "total_ms", "ss room list: whole list ms", "lower", 5),
    ("ss_initial", "kib", "ss room list: response KiB", "lower", None),
    ("ss_initial", "cpu_ms", "ss room list: server CPU ms", "lower", None),
    ("ss_initial", "all_loaded", "ss room list: every room sent", "", None),
    ("ss_incremental", "p50_ms", "ss incremental latency p50 ms", "lower", 5),
    ("ss_incremental", "cpu_ms_per_update", "ss incremental CPU ms incl. send", "lower", None),
    ("ss_incremental", "response_cpu_ms", "ss incremental CPU ms beyond send", "lower", None),
    ("ss_incremental", "kib_per_update", "ss incremental response KiB per update", "lower", None),
    ("ss_fanout", "p50_ms", "ss fan-out delivery p50 ms", "lower", 5),
    ("ss_fanout", "p99_ms", "ss fan-out delivery p99 ms", "lower", 5),
    ("ss_fanout", "cpu_ms_per_delivery", "ss fan-out server CPU ms per delivery", "lower", None),
    ("ss_fanout", "delivered", "ss fan-out delivered (all?)", "", None),
    ("ss_fanout", "kib_per_connection", "ss KiB per waiting connection", "lower", None),
    ("push", "off_msgs_per_s", "push room: send msgs/s, no pushers", "higher", None),
    ("push", "on_msgs_per_s", "push room: send msgs/s, a pusher each", "higher", None),
    ("push", "off_cpu_ms_per_msg", "push room: server CPU ms/msg, no pushers", "lower", None),
    ("push", "on_cpu_ms_per_msg", "push room: server CPU ms/msg incl. pushes", "lower", None),
    ("push", "delivery_p50_ms", "push delivery p50 ms (send to gateway)", "lower", None),
    ("push", "delivery_p99_ms", "push delivery p99 ms", "lower", None),
    ("push", "requests_per_pusher_msg", "push gateway requests per pusher per msg", "", None),
    ("push", "delivered", "pushes delivered (all?)", "", None),
]


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu_model": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": sys.version.split()[0],
    }


def _fmt(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, float):
        if math.isnan(v):
            return "n/a"
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"
    return str(v)


def ratio(a: Any, b: Any) -> float | None:
    if (
        isinstance(a, (int, float))
        and isinstance(b, (int, float))
        and b
        and not isinstance(a, bool)
    ):
        return float(a) / float(b)
    return None


def _versus(
    label: str, a: Any, b: Any, met: Callable[[float], bool], target: str, note: str
) -> dict[str, Any]:
    """A row that sets one measured value against another (not against the reference)."""
    r = ratio(a, b)
    return {
        "metric": label,
        "revier": a,
        "reference": b,
        "ratio": r,
        "target": target,
        "met": None if r is None else met(r),
        "note": note,
    }


def table(
    medians: dict[str, dict[str, dict[str, Any]]],
    notes: dict[str, str],
    ref_name: str,
    failed: dict[str, list[str]] | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    """Rows: label, revier, reference, ratio (revier ÷ reference), target."""
    rows: list[dict[str, Any]] = []
    for scenario, key, label, better, target in ROWS:
        per = medians.get(scenario, {})
        rv = per.get("revier", {}).get(key) if scenario not in notes else None
        rf = per.get("reference", {}).get(key) if scenario not in notes else None
        if key.startswith("infra_") and rv is None and rf is None:
            continue  # one process on SQLite: no database or Redis of its own to count
        r = ratio(rv, rf)
        note = notes.get(scenario, "")
        if not note and (who := (failed or {}).get(scenario)):
            note = f"{' and '.join(who)} failed: errors in the JSON"
        goal = ""
        if target:
            goal = f"≥ {target}x" if better == "higher" else f"≤ 1/{target}"
        rows.append(
            {
                "metric": label,
                "revier": rv,
                "reference": rf,
                "ratio": r,
                "target": goal,
                "met": None
                if r is None or not target
                else (r >= target if better == "higher" else r <= 1 / target),
                "note": note,
            }
        )
    ceiling = medians.get("ceiling", {}).get("ceiling", {}).get("msgs_per_s")
    revier_send = medians.get("send", {}).get("revier", {}).get("msgs_per_s")
    rows.append(
        _versus(
            "send msgs/s: revier vs bare ASGI ceiling",
            revier_send,
            ceiling,
            lambda r: r >= 0.5,
            "≥ 0.5",
            "reference column = ceiling",
        )
    )
    # Issue 23's floor: a waiting /sync within 1.5x of what the bare HTTP stack's own
    # parked request costs (bench/ceiling.py, the idle scenario against it).
    floor = medians.get("ceiling", {}).get("ceiling", {}).get("idle_kib_per_user")
    rows.append(
        _versus(
            "idle KiB per waiting user: revier vs bare uvicorn",
            medians.get("idle", {}).get("revier", {}).get("kib_per_user"),
            floor,
            lambda r: r <= 1.5,
            "≤ 1.5",
            "reference column = bare uvicorn app",
        )
    )
    # The bar for sliding sync: a waiting connection holds no more than /sync's.
    revier_ss = medians.get("ss_fanout", {}).get("revier", {}).get("kib_per_connection")
    revier_idle = medians.get("idle", {}).get("revier", {}).get("kib_per_user")
    rows.append(
        _versus(
            "KiB per waiting connection: revier ss vs revier /sync",
            revier_ss,
            revier_idle,
            lambda r: r <= 1,
            "≤ 1",
            "reference column = revier idle",
        )
    )
    push = medians.get("push", {}).get("revier", {})
    on, off = push.get("on_msgs_per_s"), push.get("off_msgs_per_s")
    rows.append(
        {
            "metric": "push room: send msgs/s with pushers vs without",
            "revier": on,
            "reference": off,
            "ratio": ratio(on, off),
            "target": "≥ 0.8",
            "met": None if ratio(on, off) is None else (ratio(on, off) or 0) >= 0.8,
            "note": "reference column = revier without pushers",
        }
    )
    head = ["scenario / metric", "revier", ref_name, "ratio", "target", ""]
    body = []
    for row in rows:
        mark = "" if row["met"] is None else ("met" if row["met"] else "missed")
        body.append(
            [
                row["metric"],
                _fmt(row["revier"]),
                _fmt(row["reference"]),
                "n/a" if row["ratio"] is None else f"{row['ratio']:.2f}",
                row["target"],
                row["note"] or mark,
            ]
        )
    widths = [max(len(str(r[i])) for r in [head, *body]) for i in range(len(head))]
    lines = [
        "  ".join(
            str(c).ljust(w) if i == 0 else str(c).rjust(w) if i < 4 else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()
        for r in [head, *body]
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines), rows


# The 1-vs-N workers section (issue 23): (scenario, key, label)
WORKER_ROWS: list[tuple[str, str, str]] = [
    ("send", "msgs_per_s", "send msgs/s"),
    ("send", "p50_ms", "send latency p50 ms"),
    ("send", "p99_ms", "send latency p99 ms"),
    ("send", "cpu_ms_per_msg", "send server CPU ms per msg"),
    ("send", "infra_cpu_ms_per_msg", "send PostgreSQL+Redis CPU ms per msg"),
    ("fanout", "p50_ms", "fan-out delivery p50 ms"),
    ("fanout", "p99_ms", "fan-out delivery p99 ms"),
    ("fanout", "max_ms", "fan-out delivery max ms"),
    ("fanout", "cpu_ms_per_delivery", "fan-out server CPU ms per delivery"),
    ("fanout", "infra_cpu_ms_per_delivery", "fan-out PostgreSQL+Redis CPU ms/delivery"),
    ("fanout", "delivered", "fan-out delivered"),
    ("idle", "kib_per_user", "idle KiB per connected user"),
    ("idle", "woken", "idle woken by a message"),
]


def workers_table(
    by_count: dict[int, dict[str, dict[str, dict[str, Any]]]], versions: dict[str, Any]
) -> tuple[str, list[dict[str, Any]]]:
    """Each server with 1, 2, ... workers side by side (0: one process on SQLite); its
    ratio is the most workers' value divided by the fewest's (throughput: higher is
    better; the rest: lower)."""
    counts = sorted(by_count)
    multi = [n for n in counts if n] or counts
    first, last = multi[0], multi[-1]

    def column(n: int) -> str:
        return f"{n}w" if n else "sqlite"

    sides = [("revier", f"revier {versions.get('revier')}")]
    if versions.get("reference"):
        sides.append(("reference", str(versions.get("reference_name"))))
    rows: list[dict[str, Any]] = []
    for scenario, key, label in WORKER_ROWS:
        row: dict[str, Any] = {"metric": label}
        for side, _ in sides:
            for n in counts:
                row[f"{side} {column(n)}"] = by_count[n].get(scenario, {}).get(side, {}).get(key)
            row[f"{side} ratio"] = ratio(
                row[f"{side} {column(last)}"], row[f"{side} {column(first)}"]
            )
        if any(v is not None for k, v in row.items() if k != "metric"):
            rows.append(row)
    head = ["shape (workers: PostgreSQL + Redis)"]
    keys: list[str] = []
    # The ratio column only where two worker counts are compared.
    with_ratio = first != last
    for side, name in sides:
        head += [f"{name} {column(n)}" for n in counts] + [f"{last}w/{first}w"] * with_ratio
        keys += [f"{side} {column(n)}" for n in counts] + [f"{side} ratio"] * with_ratio

    def cell(row: dict[str, Any], key: str) -> str:
        if key.endswith("ratio"):
            return "n/a" if row[key] is None else f"{row[key]:.2f}"
        return _fmt(row[key])

    body = [[row["metric"], *(cell(row, k) for k in keys)] for row in rows]
    widths = [max(len(str(r[i])) for r in [head, *body]) for i in range(len(head))]
    lines = [
        "  ".join(
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()
        for r in [head, *body]
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines), rows
