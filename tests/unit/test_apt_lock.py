"""scripts/lib/apt.sh waits for another apt-get's lock, for a bounded time.

Debian's apt-get is the outside here: a stand-in on PATH answers as apt-get
does while unattended-upgrades holds the lists lock, then lets go.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

FAKE_APT_GET = """#!/usr/bin/env bash
echo "$*" >> "$CALLS"
if [ "$1" = -qq ] && [ "$2" = update ]; then
    n=$(cat "$BUSY")
    if [ "$n" -gt 0 ]; then
        echo $((n - 1)) > "$BUSY"
        echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242" >&2
        exit 100
    fi
fi
"""


def install(
    tmp_path: Path, busy_rounds: int, wait_s: int
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "apt-get"
    fake.write_text(FAKE_APT_GET)
    fake.chmod(0o755)
    (tmp_path / "busy").write_text(str(busy_rounds))
    script = f"set -euo pipefail; source {REPO / 'scripts/lib/apt.sh'}; apt_install postgresql"
    result = subprocess.run(
        ["bash", "-c", script],
        env={
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "CALLS": str(tmp_path / "calls"),
            "BUSY": str(tmp_path / "busy"),
            "APT_LOCK_WAIT": str(wait_s),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result, (tmp_path / "calls").read_text().splitlines()


def test_waits_for_the_lists_lock_then_installs_with_a_lock_timeout(tmp_path: Path) -> None:
    result, calls = install(tmp_path, busy_rounds=2, wait_s=30)
    assert result.returncode == 0, result.stderr
    assert "waiting (at most 30s)" in result.stdout
    assert calls == [
        "-qq update",
        "-qq update",
        "-qq update",
        "-o DPkg::Lock::Timeout=30 install -y -qq postgresql",
    ]


def test_gives_up_after_the_bound_with_apts_own_message(tmp_path: Path) -> None:
    result, calls = install(tmp_path, busy_rounds=100, wait_s=2)
    assert result.returncode != 0
    assert "Could not get lock" in result.stderr
    assert 2 <= len(calls) <= 5 and all(call == "-qq update" for call in calls)
