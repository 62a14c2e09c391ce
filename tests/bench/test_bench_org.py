"""The organisation benchmark (``python -m bench org``) itself, run with tiny sizes
against a real slapd: it must sync, attach, move and measure, and say so in JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from bench.ldap import slapd_missing

REPO = Path(__file__).resolve().parents[2]
TINY = ["--accounts", "40", "--units", "5", "--rooms", "6", "--moves", "4",
        "--big-unit", "12", "--watchers", "2"]  # fmt: skip


@pytest.mark.skipif(slapd_missing() is not None, reason=str(slapd_missing()))
def test_the_org_scenario_runs_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "org.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "org", *TINY, "--json", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    data = json.loads(out.read_text())
    assert data["created"] == 40 and data["moved"] == 4
    for key in ("first_sync_s", "attach_s", "moves_sync_s", "big_unit_resync_s"):
        assert data[key] > 0, key
    assert data["sync_requests"] > 0 and data["sync_max_ms"] >= data["sync_p50_ms"] > 0
