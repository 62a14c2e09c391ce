"""The Matrix spec's OpenAPI bundle (from ../shared/matrix-spec), built once per session."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.integration.harness import REPO

SPEC_DIR = REPO.parent / "shared" / "matrix-spec"
BUILD = REPO / "build"


def client_server_bundle() -> Path:
    out = BUILD / "matrix-cs.json"
    if not out.exists():
        BUILD.mkdir(exist_ok=True)
        # Header auth only: revier refuses URL tokens, by design.
        subprocess.run(
            [sys.executable, str(SPEC_DIR / "bundle.py"), "--drop-query-auth", "-o", str(out)],
            check=True,
            capture_output=True,
        )
    return out
