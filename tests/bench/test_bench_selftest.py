"""The benchmark suite itself, run with tiny sizes: it must start both servers and print its table.

Synapse is installed (once, cached in bench/.venv-synapse) when it can be; if not,
the suite still runs revier and says plainly that the reference is unavailable.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TINY = [
    "--runs", "1", "--senders", "2", "--messages", "5", "--receivers", "3", "--wide-receivers", "4",
    "--fanout-messages", "3", "--idle-users", "20", "--init-rooms", "3",
    "--init-messages", "3", "--big-room", "10", "--key-devices", "4", "--key-claimers", "2",
    # More rooms than Element X's first window of 20, so that the list grows once.
    "--ss-rooms", "25", "--ss-messages", "1", "--ss-updates", "2", "--ss-devices", "3",
    "--push-members", "3", "--push-messages", "2", "--history-messages", "20",
]  # fmt: skip


def test_room_list_windows_grow_like_element_x() -> None:
    """[0, 19], then [0, 99] and growing by 100 until the end reaches count - 1."""
    from bench.sliding import FIRST_END, growing_end

    def ends(count: int) -> list[int]:
        found = [FIRST_END, growing_end(0, count)]
        while found[-1] < count - 1:
            found.append(growing_end(found[-1] + 1, count))
        return found

    assert ends(1000) == [19, 99, 199, 299, 399, 499, 599, 699, 799, 899, 999]
    assert ends(250) == [19, 99, 199, 249]
    assert ends(25) == [19, 24]
    assert ends(0) == [19, 0]


# Installing the reference (once per checkout) and both servers' tiny runs took
# up to ~5 minutes on a loaded CI machine: more than the suite's default timeout.
@pytest.mark.timeout(900)
def test_suite_prints_its_table_with_numeric_ratios(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "run", *TINY, "--json", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=840,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    table = result.stdout
    assert "scenario / metric" in table and "send msgs/s" in table
    data = json.loads(out.read_text())
    assert data["machine"]["cores"] and data["versions"]["revier"]
    medians = data["medians"]
    assert medians["send"]["revier"]["msgs_per_s"] > 0
    assert medians["fanout"]["revier"]["all_delivered"] is True
    assert medians["fanout_wide"]["revier"]["all_delivered"] is True
    assert medians["idle"]["revier"]["all_woken"] is True
    assert medians["ceiling"]["ceiling"]["msgs_per_s"] > 0
    for side in ("revier", "reference") if data["versions"]["reference"] else ("revier",):
        ss = medians.get("ss_initial", {}).get(side)
        assert ss, (side, data["runs"].get("ss_initial", {}).get(side))
        assert ss["all_loaded"] is True and ss["count"] == 25 and ss["requests"] == 2
        assert ss["first_ms"] > 0 and ss["total_ms"] >= ss["first_ms"] and ss["kib"] > 0
        inc = medians.get("ss_incremental", {}).get(side)
        assert inc, (side, data["runs"].get("ss_incremental", {}).get(side))
        assert inc["p50_ms"] > 0 and inc["updates"] == 2
        fan = medians.get("ss_fanout", {}).get(side)
        assert fan, (side, data["runs"].get("ss_fanout", {}).get(side))
        assert fan["all_delivered"] is True, fan
    assert medians["push"]["revier"]["all_delivered"] is True
    assert medians["push"]["revier"]["requests_per_pusher_msg"] == 1.0
    ceiling_row = next(r for r in data["table"] if "ceiling" in r["metric"])
    assert isinstance(ceiling_row["ratio"], float)
    # The floor: the same idle clients parked on the bare HTTP stack, all woken.
    assert medians["ceiling"]["ceiling"]["idle_woken"] == "20/20"
    floor_row = next(r for r in data["table"] if "bare uvicorn" in r["metric"])
    assert isinstance(floor_row["ratio"], float)

    if data["versions"]["reference"] is None:
        # Said loudly, never silently skipped.
        assert "REFERENCE UNAVAILABLE" in result.stderr
        assert "reference (unavailable)" in table
        return
    for scenario, key, label in [
        ("send", "msgs_per_s", "send msgs/s"),
        ("fanout", "p99_ms", "fan-out delivery p99 ms"),
        ("idle", "rss_mb", "idle RSS MiB"),
        ("initial_sync", "ms", "initial sync ms"),
        ("big_room", "joins_per_s", "big room joins/s"),
        ("ss_initial", "total_ms", "ss room list: whole list ms"),
        ("ss_incremental", "p50_ms", "ss incremental latency p50 ms"),
        ("ss_fanout", "p99_ms", "ss fan-out delivery p99 ms"),
    ]:
        row = next(r for r in data["table"] if r["metric"].startswith(label))
        assert isinstance(row["ratio"], float), (scenario, row, result.stderr[-4000:])
        assert isinstance(medians[scenario]["reference"][key], float)
    assert medians["fanout"]["reference"]["all_delivered"] is True
    assert medians["idle"]["reference"]["all_woken"] is True
    ratio_cells = re.findall(r"send msgs/s\s+\S+\s+\S+\s+(\d+\.\d\d)", table)
    assert ratio_cells, table


def test_workers_shape_spreads_users_over_two_revier_workers(tmp_path: Path) -> None:
    """--shape workers: two revier processes on PostgreSQL with Redis, users on both,
    every message delivered, PostgreSQL's and Redis's CPU counted apart. Revier alone:
    the reference's worker mode would take minutes to set up here."""
    from bench.infra import InfraUnavailable, _pg_bin

    try:
        _pg_bin("initdb")
    except InfraUnavailable as e:
        pytest.skip(str(e))
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server not found: scripts/test installs it")
    out = tmp_path / "workers.json"
    shape = ["--shape", "workers", "--workers", "2"]
    workers = [*shape, "--no-reference", "--only", "send,fanout"]
    result = subprocess.run(
        [sys.executable, "-m", "bench", "run", *TINY, "--json", str(out), *workers],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    data = json.loads(out.read_text())
    assert data["shape"] == "2 workers, PostgreSQL, Redis"
    spread = list(data["routing"]["revier"].values())
    assert len(spread) == 2 and min(spread) > 0 and abs(spread[0] - spread[1]) <= 1, spread
    send, fanout = data["medians"]["send"]["revier"], data["medians"]["fanout"]["revier"]
    assert send["msgs_per_s"] > 0 and send["infra_cpu_ms_per_msg"] >= 0
    assert fanout["all_delivered"] is True and fanout["infra_cpu_ms_per_delivery"] >= 0
    assert "PostgreSQL+Redis CPU" in result.stdout
